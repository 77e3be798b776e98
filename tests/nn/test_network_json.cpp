#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>

#include "fuzz/targets.hpp"
#include "nn/seed/network_json.hpp"
#include "support/check.hpp"
#include "support/random_dag.hpp"

using namespace tapegrad;
using namespace tapegrad::nn;

namespace {
std::string corpus_file() {
  std::ifstream in(std::string(TAPEGRAD_SOURCE_DIR) + "/tests/fuzz/corpus/network/small.json");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
std::string error_for(const std::string& text) {
  return test::message_of<ValueError>([&] { (void)network_from_json(text); });
}
const char* kHead = R"({"inputs": [0], "outputs": [2], "neurons": [{"id": 0, "type": "input"}, )";
}  // namespace

TEST_SUITE("network json") {
  TEST_CASE("save and load round-trip structure, parameters and settings") {
    std::mt19937_64 rng(11);
    for (int trial = 0; trial < 50; ++trial) {
      Network net = test::random_dag(rng, {.batch_norm = true, .dropout = true});
      net.batch_norm_mode = trial % 2 ? BatchNormMode::seed : BatchNormMode::full;
      const std::string text = to_json(net);
      const Network back = network_from_json(text);
      CHECK(to_json(back) == text);
      const Parameters a = net.parameters(), b = back.parameters();
      CHECK(a.w == b.w);
      CHECK(a.beta == b.beta);
      CHECK(a.gamma == b.gamma);
      CHECK(back.batch_norm_mode == net.batch_norm_mode);
    }
  }

  TEST_CASE("the corpus file loads") {
    const Network net = network_from_json(corpus_file());
    CHECK(net.units().size() == 4);
    CHECK(net.edges()[net.edge_of(0, 3)].keep == 0.8);
    CHECK(net.edges()[net.edge_of(1, 3)].keep == 0.9);
    CHECK(net.batch_norm_mode == BatchNormMode::seed);
  }

  TEST_CASE("bad files say what is wrong and where") {
    CHECK(test::contains(error_for(R"({"inputs": [0], )"), "malformed at byte"));
    CHECK(test::contains(error_for(std::string(kHead) + R"({"id": 2}], "arrows": [{"from": 0, "to": 7, "w": 1}]})"),
                         "unknown id 7"));
    CHECK(test::contains(
        error_for(std::string(kHead) +
                  R"({"id": 2}], "arrows": [{"from": 0, "to": 2, "w": 1}, {"from": 0, "to": 2, "w": 2}]})"),
        "duplicate arrow 0 -> 2"));
    CHECK(test::contains(error_for(std::string(kHead) + R"({"id": 2}], "arrows": [{"from": 2, "to": 0, "w": 1}]})"),
                         "into input 0"));
    const auto act = error_for(std::string(kHead) + R"({"id": 2, "activation": "swish"}], "arrows": []})");
    CHECK(test::contains(act, "neurons[1]"));
    CHECK(test::contains(act, "unknown activation 'swish'"));
    CHECK(test::contains(
        error_for(std::string(kHead) +
                  R"({"id": 2}, {"id": 3}], "arrows": [{"from": 2, "to": 3, "w": 1}, {"from": 3, "to": 2, "w": 1}]})"),
        "cycle"));
    CHECK(test::contains(error_for(R"({"outputs": [2], "neurons": [{"id": 2}], "arrows": []})"), "missing 'inputs'"));
    CHECK(test::contains(error_for(R"({"inputs": [0], "outputs": [], "neurons": [{"id": 2}], "arrows": []})"),
                         "no output"));
    CHECK(test::contains(error_for(std::string(kHead) + R"({"id": 2}], "arrows": [{"from": 0, "to": 2}]})"),
                         "arrows[0]: missing field 'w'"));
    CHECK(test::contains(error_for(std::string(kHead) + R"({"id": 2}], "arrows": [{"from": 0, "to": 2, "w": "big"}]})"),
                         "arrows[0]: field 'w' has the wrong type"));
  }

  TEST_CASE("a failed load leaves the caller's network untouched") {
    Network net = network_from_json(corpus_file());
    const std::string before = to_json(net);
    try {
      net = network_from_json(R"({"inputs": [)");
    } catch (const ValueError&) {
    }
    CHECK(to_json(net) == before);
  }

  TEST_CASE("mutated and truncated files load and round-trip, or are refused with a located error") {
    const std::string seed = corpus_file();
    std::mt19937_64 rng(99);
    const std::string alphabet = "{}[]\":,0123456789.-eE aznulltruefalse";
    int loaded = 0, refused = 0;
    auto check_outcome = [&](std::string_view bytes) {
      std::string problem;
      const test::Outcome outcome = test::load_network_bytes(bytes, &problem);
      CAPTURE(bytes);
      CHECK_MESSAGE(outcome != test::Outcome::broken, problem);
      (outcome == test::Outcome::loaded ? loaded : refused) += 1;
    };
    for (int i = 0; i < 20000; ++i) {
      std::string s = seed;
      const int edits = std::uniform_int_distribution<int>(1, 6)(rng);
      for (int k = 0; k < edits; ++k) {
        const size_t at = std::uniform_int_distribution<size_t>(0, s.size() - 1)(rng);
        switch (rng() % 3) {
          case 0: s[at] = alphabet[rng() % alphabet.size()]; break;
          case 1: s.erase(at, 1 + rng() % 8); break;
          default: s = s.substr(0, at) + alphabet[rng() % alphabet.size()] + s.substr(at);
        }
        if (s.empty()) s.push_back('{');
      }
      check_outcome(s);
    }
    check_outcome("");
    check_outcome(std::string("\0\xff\x80", 3));
    // Both outcomes are exercised: some mutants still load (whitespace, digits of a weight).
    CHECK(loaded > 100);
    CHECK(refused > 10000);
  }

  TEST_CASE("nesting 100k deep is refused without recursion, inside a value or at the top") {
    const std::string deep_value = R"({"format": )" + std::string(100000, '[') + std::string(100000, ']') + "}";
    CHECK(test::contains(error_for(deep_value), "nested deeper than 32 levels"));
    CHECK(test::contains(error_for(std::string(100000, '[')), "nested deeper than 32 levels"));
    CHECK(test::contains(error_for(std::string(100000, '{')), "network JSON"));
  }

  TEST_CASE("an unknown format is quoted briefly, never dumped whole") {
    const std::string message = error_for(R"({"format": ")" + std::string(5000, 'x') + R"("})");
    CHECK(test::contains(message, "unknown format 'xxxx"));
    CHECK(message.size() < 200);
    CHECK(test::contains(error_for(R"({"format": [1, 2]})"), "unknown format of type array"));
  }

  TEST_CASE("refused with a located message: false as an object, duplicate keys, ids out of range") {
    const std::string tail = R"({"id": 2}], "arrows": [{"from": 0, "to": 2, "w": 1}]})";
    CHECK(test::contains(error_for(std::string(kHead) + R"({"id": 2, "batch_norm": false}], "arrows": []})"),
                         "neurons[1].batch_norm must be an object, got boolean"));
    CHECK(test::contains(error_for(std::string(kHead) + tail.substr(0, tail.size() - 1) + R"(, "batch_norm": 3})"),
                         "batch_norm must be an object, got number"));
    CHECK(test::contains(error_for(std::string(kHead) + R"({"id": 2, "beta": 1, "beta": 2}], "arrows": []})"),
                         "duplicate key 'beta'"));
    CHECK(test::contains(error_for(std::string(kHead) + R"({"id": 18446744073709551615}], "arrows": []})"),
                         "field 'id' is out of range (18446744073709551615)"));
    CHECK(
        test::contains(error_for(R"({"inputs": [0], "outputs": [0], "neurons": [{"id": 0, "type": "input"}, )" + tail),
                       "output id 0 is not a neuron"));
  }

  TEST_CASE("non-finite parameters and batch-norm settings are refused") {
    auto finalize_error = [](double w, double beta, double momentum) {
      Network net;
      net.add_input(0);
      net.add_neuron({.id = 1, .beta = beta});
      net.add_arrow({.from = 0, .to = 1, .w = w, .keep = std::nullopt});
      net.set_outputs({1});
      net.batch_norm_momentum = momentum;
      return test::message_of<ValueError>([&] { net.finalize(); });
    };
    CHECK(test::contains(finalize_error(NAN, 0, 0.1), "arrow 0 -> 1 has a non-finite weight"));
    CHECK(test::contains(finalize_error(1, INFINITY, 0.1), "neuron 1 has a non-finite parameter"));
    CHECK(test::contains(finalize_error(1, 0, NAN), "momentum must be in [0, 1], got nan"));
    CHECK(test::contains(finalize_error(1, 0, 1.5), "momentum must be in [0, 1], got 1.5"));
  }

  TEST_CASE("DOT export lists neurons and weighted arrows") {
    const Network net = network_from_json(corpus_file());
    const std::string dot = to_dot(net);
    CHECK(test::contains(dot, "digraph network"));
    CHECK(test::contains(dot, "n0 [shape=box"));
    CHECK(test::contains(dot, "n4 [shape=doublecircle"));
    CHECK(test::contains(dot, "n3 -> n4 [label=\"1.5\"]"));
    CHECK(test::contains(dot, "n0 -> n3 [label=\"0.5\\np=0.8\", style=dashed]"));  // DropConnect arrow
    CHECK(test::contains(dot, "+BN"));
  }
}

TEST_CASE("network json: an id too large for an integer is a type error (found by the fuzzer)") {
  CHECK(test::contains(error_for(std::string(kHead) + R"({"id": 4.4e70}], "arrows": []})"),
                       "field 'id' has the wrong type"));
}

TEST_CASE("network json: a number beyond double range is an error, not a crash (found by the fuzzer)") {
  CHECK_THROWS_AS(network_from_json("9E99999999999999999999999999999999 "), ValueError);
}

// Issue 20, item 10: a diverged network was saved with `null` weights that load_network refused.
TEST_CASE("network json: a non-finite parameter is refused when saving, naming it, and no file is written") {
  Network net = network_from_json(corpus_file());
  Parameters p = net.parameters();
  p.w[net.edge_of(0, 3)] = std::nan("");
  net.set_parameters(p);
  CHECK(test::contains(test::message_of<ValueError>([&] { (void)to_json(net); }), "the weight of arrow (0, 3) is nan"));
  const std::string path = (std::filesystem::temp_directory_path() / "tapegrad-test-diverged-network.json").string();
  std::remove(path.c_str());
  CHECK_THROWS_AS(save_network(net, path), ValueError);
  CHECK(!std::ifstream(path).good());
  p.w[net.edge_of(0, 3)] = 0.5;
  p.beta[net.unit_of(3)] = -std::numeric_limits<double>::infinity();
  net.set_parameters(p);
  CHECK(test::contains(test::message_of<ValueError>([&] { (void)to_json(net); }), "beta of neuron 3 is -inf"));
}

// Issue 20, items 18 and 19.
TEST_CASE("network json: an unknown version is refused; huge names and long cycles give short messages") {
  const std::string good = corpus_file();
  std::string v99 = good;
  v99.replace(v99.find('{'), 1, R"({"version": 99, )");
  CHECK(test::contains(error_for(v99), "version 99 is not supported (this build reads version 1)"));
  std::string v1 = good;
  v1.replace(v1.find('{'), 1, R"({"version": 1, )");
  CHECK_NOTHROW((void)network_from_json(v1));
  const std::string huge(10 << 20, 'q');
  const std::string msg =
      error_for(std::string(kHead) + R"({"id": 1, "activation": ")" + huge + R"("}], "arrows": []})");
  CHECK(test::contains(msg, "unknown activation 'qqqq"));
  CHECK(test::contains(msg, "(10485760 bytes)"));
  CHECK(msg.size() < 400);
  Network ring;
  ring.add_input(0);
  constexpr int64_t kRing = 100000;
  for (int64_t id = 1; id <= kRing; ++id) {
    NeuronSpec n;
    n.id = id;
    ring.add_neuron(n);
    ArrowSpec a;
    a.from = id;
    a.to = id % kRing + 1;
    ring.add_arrow(a);
  }
  ring.set_outputs({1});
  const std::string cycle = test::message_of<ValueError>([&] { ring.finalize(); });
  CHECK(test::contains(cycle, "a cycle of 100000 neurons"));
  CHECK(cycle.size() < 300);
}
