#pragma once
/// \file
/// The protocol of a GradBench C++ tool (github.com/gradbench/gradbench, its cpp/gradbench/main.hpp
/// and python/gradbench/cpp.py), written here for tapegrad's tools: one program per eval, run as
/// `<eval> INPUT.json FUNCTION`. INPUT.json holds the eval's input, with optional "min_runs"
/// (default 1) and "min_seconds" (default 0). The program prepares the function once, computes it
/// until both minimums are reached, then prints the output as one JSON line, a line
/// {"name": "prepare", "nanoseconds": N} and one {"name": "evaluate", "nanoseconds": N} per run.
/// A bad input or an unknown function exits with status 1 and the reason on stderr.
///
/// Built against a GradBench checkout (CMake's TAPEGRAD_GRADBENCH_DIR, which defines
/// TAPEGRAD_GRADBENCH_CHECKOUT), run<F> hands F to the checkout's own protocol (`function_main` of its
/// cpp/gradbench/main.hpp), and a program's primal is the checkout's (cpp/gradbench/evals/*.hpp): the
/// function every C++ tool of GradBench times as its denominator. Without one, the protocol above
/// is this file's and the primal our own, so the test suite runs the programs with no checkout.
#include <chrono>
#include <cstdint>
#include <exception>
#include <fstream>
#include <initializer_list>
#include <iostream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#ifdef TAPEGRAD_GRADBENCH_CHECKOUT
#include "gradbench/main.hpp"
/// The checkout's function where a build has one, else ours: `run<Primal, TAPEGRAD_CHECKOUTS(lse::Primal)>`.
#define TAPEGRAD_CHECKOUTS(function) function
#else
#define TAPEGRAD_CHECKOUTS(function) void
#endif

namespace gradbench_tool {

using json = nlohmann::json;

/// The input file's JSON, with its run options checked: "min_runs" at least 1, "min_seconds" a number.
struct RunInput {
  json input;
  int min_runs = 1;
  double min_seconds = 0;
  explicit RunInput(const std::string& input_path) {
    std::ifstream file(input_path);
    if (!file) throw std::runtime_error("cannot open the input file '" + input_path + "'");
    input = json::parse(file);
    const bool has_options = input.is_object();
    if (has_options && input.contains("min_runs")) min_runs = input.at("min_runs").get<int>();
    if (has_options && input.contains("min_seconds")) min_seconds = input.at("min_seconds").get<double>();
    if (min_runs < 1) throw std::invalid_argument("min_runs must be at least 1");
  }
};

#ifdef TAPEGRAD_GRADBENCH_CHECKOUT
/// Our function F as the checkout's function_main takes one: its Input is the JSON itself.
template <class F>
struct FromJson : F {
  using Input = json;
  explicit FromJson(json& input) : F(input) {}
};

/// Runs the named function by the checkout's protocol: Checkout (a GradBench function class, such
/// as lse::Primal) when given, else our F. Our F first reads the input, so a bad one is refused
/// with its reason (exit 1) before the checkout's code, which asserts, sees it.
template <class F, class Checkout = void>
int run(const std::string& input_path) {
  const RunInput checked(input_path);
  if constexpr (std::is_void_v<Checkout>) {
    return function_main<FromJson<F>>(input_path);
  } else {
    [[maybe_unused]] const F validated(checked.input);
    return function_main<Checkout>(input_path);
  }
}
#else
/// Prepares F from the input (F(const json&): parsing, buffers), computes it (F::compute(F::Output&))
/// the required number of times, and prints its output and timings. Returns the exit status.
/// (Checkout, the function a GradBench checkout would run instead, is void in this build.)
template <class F, class Checkout = void>
int run(const std::string& input_path) {
  static_assert(std::is_void_v<Checkout>);
  using clock = std::chrono::steady_clock;
  const RunInput checked(input_path);
  const json& input = checked.input;
  const int min_runs = checked.min_runs;
  const double min_seconds = checked.min_seconds;
  const auto prepare_start = clock::now();
  F function(input);
  const auto prepare_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now() - prepare_start).count();
  typename F::Output output{};
  std::vector<int64_t> evaluate_ns;
  double seconds = 0;
  for (int run = 0; run < min_runs || seconds < min_seconds; ++run) {
    const auto start = clock::now();
    function.compute(output);
    const int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now() - start).count();
    evaluate_ns.push_back(ns);
    seconds += static_cast<double>(ns) * 1e-9;
  }
  std::cout << json(output).dump() << '\n';
  std::cout << json{{"name", "prepare"}, {"nanoseconds", prepare_ns}}.dump() << '\n';
  for (const int64_t ns : evaluate_ns) std::cout << json{{"name", "evaluate"}, {"nanoseconds", ns}}.dump() << '\n';
  std::cout.flush();
  return std::cout ? 0 : 1;
}
#endif

/// A leaf tensor's gradient, copied into out in element order (the derivatives' output).
template <class Tensor>
void copy_gradient(const Tensor& leaf, std::vector<double>& out) {
  const auto& g = leaf.grad();
  out.assign(g.template data<double>(), g.template data<double>() + g.numel());
}

/// One function of an eval: its name and run<F>.
using Entry = std::pair<std::string_view, int (*)(const std::string&)>;

/// main() of an eval's program: `<program> INPUT.json FUNCTION` runs the named function.
inline int tool_main(int argc, char** argv, std::initializer_list<Entry> functions) {
  if (argc != 3) {
    std::cerr << "usage: " << argv[0] << " INPUT.json FUNCTION\n";
    return 1;
  }
  try {
    for (const auto& [name, function] : functions)
      if (name == argv[2]) return function(argv[1]);
    std::cerr << "unknown function: " << argv[2] << '\n';
  } catch (const std::exception& e) {
    std::cerr << argv[0] << ": " << e.what() << '\n';
  }
  return 1;
}

}  // namespace gradbench_tool
