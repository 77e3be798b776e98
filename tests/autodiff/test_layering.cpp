// The folder is the module. autodiff/ never includes nn/; nothing outside autodiff/ includes
// autodiff/detail/ (ops are written against autodiff/op.hpp, loops with autodiff/parallel.hpp);
// inside nn/, includes only go down its floors. (The reference's independence is proven from the
// build itself: cmake/reference_allowlist_test.cmake and the reference_tests link.)
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <string>

namespace fs = std::filesystem;

namespace {
const fs::path kRoot(TAPEGRAD_SOURCE_DIR);

/// f(file, included path) for every `#include "..."` of the sources under dir.
template <class F>
void for_each_include(const fs::path& dir, F&& f) {
  static const std::regex include(R"re(^\s*#\s*include\s*[<"]([^>"]+)[>"])re");
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    const auto ext = entry.path().extension();
    if (!entry.is_regular_file() || (ext != ".hpp" && ext != ".cpp" && ext != ".h")) continue;
    std::ifstream in(entry.path());
    std::string line;
    std::smatch m;
    while (std::getline(in, line))
      if (std::regex_search(line, m, include)) f(entry.path(), m[1].str());
  }
}

/// The include lines under `dir` whose path starts with `prefix`.
std::string includes_of(const fs::path& dir, const std::string& prefix) {
  std::string hits;
  for_each_include(dir, [&](const fs::path& file, const std::string& path) {
    if (path.rfind(prefix, 0) == 0) hits += fs::relative(file, kRoot).string() + ": " + path + "\n";
  });
  return hits;
}
}  // namespace

TEST_CASE("layering: autodiff/ does not include nn/") {
  REQUIRE(fs::exists(kRoot / "autodiff" / "tape.hpp"));
  const std::string hits = includes_of(kRoot / "autodiff", "nn/");
  CHECK_MESSAGE(hits.empty(), hits);
}

TEST_CASE("layering: nothing outside autodiff/ includes autodiff/detail/") {
  // The Arena's unit test (tests/autodiff) is the one reader of an internal, by design.
  for (const char* dir : {"nn", "distributed", "examples", "benchmarks", "tests/nn", "tests/reference",
                          "tests/distributed", "tests/fuzz"}) {
    CAPTURE(dir);
    REQUIRE(fs::exists(kRoot / dir));
    const std::string hits = includes_of(kRoot / dir, "autodiff/detail/");
    CHECK_MESSAGE(hits.empty(), hits);
  }
}

TEST_CASE("layering: inside nn/, includes go down its floors only") {
  // functional < layers, optim, data < io < seed; reference is checked against its allow-list.
  const std::map<std::string, int> floor{{"functional", 0}, {"layers", 1}, {"optim", 1},
                                         {"data", 1},       {"io", 2},     {"seed", 3}};
  const std::regex nn_folder(R"re(^nn/(\w+)/)re");
  std::string hits;
  int checked = 0;
  for (const auto& entry : floor) {
    const std::string& from = entry.first;  // plain names: clang 14's lambdas cannot capture bindings
    const int level = entry.second;
    for_each_include(kRoot / "nn" / from, [&](const fs::path& file, const std::string& path) {
      std::smatch m;
      if (!std::regex_search(path, m, nn_folder)) return;
      ++checked;
      const std::string to = m[1].str();
      const auto it = floor.find(to);
      const bool allowed = to == from || (it != floor.end() && it->second < level);
      if (!allowed) hits += fs::relative(file, kRoot).string() + ": " + path + "\n";
    });
  }
  CHECK(checked > 20);  // the scan itself works
  CHECK_MESSAGE(hits.empty(), hits);
}
