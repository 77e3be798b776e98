// The folder is the module: autodiff/ never includes nn/, and nn/reference (the hand-derived check)
// never includes the tape.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace fs = std::filesystem;

namespace {
std::string includes_matching(const fs::path& dir, const std::string& forbidden_prefix) {
  std::string hits;
  if (!fs::exists(dir)) return hits;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path());
    std::string line;
    while (std::getline(in, line))
      if (line.rfind("#include", 0) == 0 && line.find(forbidden_prefix) != std::string::npos)
        hits += entry.path().string() + ": " + line + "\n";
  }
  return hits;
}
}  // namespace

TEST_CASE("layering: autodiff/ does not include nn/") {
  const fs::path root(TAPEGRAD_SOURCE_DIR);
  REQUIRE(fs::exists(root / "autodiff" / "tape.hpp"));
  const std::string hits = includes_matching(root / "autodiff", "nn/");
  CHECK_MESSAGE(hits.empty(), hits);
}

TEST_CASE("layering: nn/reference does not include the tape") {
  const fs::path root(TAPEGRAD_SOURCE_DIR);
  for (const char* header : {"tape.hpp", "var.hpp", "tensor.hpp", "tensor_section.hpp", "autodiff.hpp"}) {
    const std::string hits = includes_matching(root / "nn" / "reference", header);
    CHECK_MESSAGE(hits.empty(), hits);
  }
}
