#include "nn/seed/network_json.hpp"

#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <type_traits>
#include <vector>

#include "autodiff/error.hpp"
#include "nn/io/atomic_file.hpp"

namespace tapegrad::nn {

using nlohmann::json;

namespace {

const char* mode_name(BatchNormMode m) { return m == BatchNormMode::full ? "full" : "seed"; }

/// A field of an object, with the place named in the error when it is missing or mistyped.
template <class T>
T field(const json& obj, const char* key, const std::string& where) {
  if (!obj.is_object()) raise<ValueError>("network JSON: {} must be an object", where);
  const auto it = obj.find(key);
  if (it == obj.end()) raise<ValueError>("network JSON: {}: missing field '{}'", where, key);
  // Integers must be JSON integers (a float like 4.4e70 would not convert); numbers must be numbers.
  bool ok = false;
  if constexpr (std::is_integral_v<T>)
    ok = it->is_number_integer();
  else if constexpr (std::is_floating_point_v<T>)
    ok = it->is_number();
  else
    ok = it->is_string();
  if (!ok) raise<ValueError>("network JSON: {}: field '{}' has the wrong type ({})", where, key, it->type_name());
  if constexpr (std::is_integral_v<T>)
    if (it->is_number_unsigned() && it->template get<uint64_t>() > uint64_t{std::numeric_limits<int64_t>::max()})
      raise<ValueError>("network JSON: {}: field '{}' is out of range ({})", where, key, it->template get<uint64_t>());
  return it->template get<T>();
}

/// An optional sub-object: nullptr when absent, an error when present but not an object (so
/// `"batch_norm": false` is refused rather than read as "batch norm with default parameters").
const json* optional_object(const json& obj, const char* key, const std::string& where) {
  const auto it = obj.find(key);
  if (it == obj.end()) return nullptr;
  if (!it->is_object())
    raise<ValueError>("network JSON: {}{}{} must be an object, got {} (leave it out instead)", where,
                      where.empty() ? "" : ".", key, it->type_name());
  return &*it;
}

/// A short, safe description of an untrusted value for an error message: never the whole value
/// (a dump of a value nested 100k deep would overflow the stack, and a huge one would flood the log).
std::string describe(const json& value) {
  if (!value.is_string()) return fmt::format("of type {}", value.type_name());
  return quote_excerpt(value.get_ref<const std::string&>());
}

/// Checks, in one linear pass over the text, the limits the format needs and a generic parser
/// lacks: nesting at most kMaxDepth deep (the format needs 3 levels) and no duplicate keys in an
/// object (nlohmann would keep the last). A SAX pass of its own rather than nlohmann's parser
/// callback, which rescans the enclosing array after every object it ends (quadratic: 160k neurons
/// took 14 s).
class StrictChecker : public json::json_sax_t {
 public:
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(json::number_integer_t) override { return true; }
  bool number_unsigned(json::number_unsigned_t) override { return true; }
  bool number_float(json::number_float_t, const std::string&) override { return true; }
  bool string(std::string&) override { return true; }
  bool binary(json::binary_t&) override { return true; }
  bool start_object(size_t) override {
    open();
    keys_.emplace_back();
    return true;
  }
  bool key(std::string& k) override {
    if (!keys_.back().insert(k).second) raise<ValueError>("network JSON: duplicate key {}", describe(json(k)));
    return true;
  }
  bool end_object() override {
    keys_.pop_back();
    --depth_;
    return true;
  }
  bool start_array(size_t) override {
    open();
    return true;
  }
  bool end_array() override {
    --depth_;
    return true;
  }
  bool parse_error(size_t byte, const std::string&, const nlohmann::detail::exception& e) override {
    raise<ValueError>("network JSON: malformed at byte {}: {}", byte, e.what());
  }

 private:
  static constexpr int kMaxDepth = 32;
  void open() {
    if (++depth_ > kMaxDepth) raise<ValueError>("network JSON: nested deeper than {} levels", kMaxDepth);
  }
  int depth_ = 0;
  std::vector<std::set<std::string>> keys_;  // keys seen in each open object
};

json parse_strict(std::string_view text) {
  try {
    StrictChecker checker;
    json::sax_parse(text.begin(), text.end(), &checker);
    return json::parse(text.begin(), text.end());  // within the limits: nlohmann's iterative parser
  } catch (const json::parse_error& e) {
    raise<ValueError>("network JSON: malformed at byte {}: {}", e.byte, e.what());
  } catch (const json::exception& e) {  // e.g. a number too large for a double
    raise<ValueError>("network JSON: {}", e.what());
  }
}

template <class T>
T field_or(const json& obj, const char* key, T fallback, const std::string& where) {
  return obj.contains(key) ? field<T>(obj, key, where) : fallback;
}

const json& array_field(const json& root, const char* key) {
  const auto it = root.find(key);
  if (it == root.end()) raise<ValueError>("network JSON: missing '{}'", key);
  if (!it->is_array()) raise<ValueError>("network JSON: '{}' must be an array", key);
  return *it;
}

}  // namespace

std::string to_json(const Network& net) {
  // JSON has no NaN or infinity (nlohmann writes null, which the loader refuses): a non-finite
  // value is an error here, so no file is written that load_network would refuse.
  // `what` names the value, formatted only for the error.
  const auto number = [](double v, const auto& what) {
    if (!std::isfinite(v))
      raise<ValueError>("to_json: {} is {}; JSON cannot hold it, and the file would not load (did training diverge?)",
                        what(), v);
    return v;
  };
  json j;
  j["format"] = "tapegrad-network";
  j["version"] = 1;
  j["inputs"] = net.input_ids();
  j["outputs"] = net.output_ids();
  json neurons = json::array();
  for (int64_t id : net.input_ids()) neurons.push_back({{"id", id}, {"type", "input"}});
  for (const NeuronSpec& n : net.neuron_specs()) {
    json o{{"id", n.id},
           {"type", "neuron"},
           {"activation", activation_name(n.activation)},
           {"beta", number(n.beta, [&] { return fmt::format("beta of neuron {}", n.id); })}};
    if (n.batch_norm)
      o["batch_norm"] = {{"gamma", number(n.gamma, [&] { return fmt::format("gamma of neuron {}", n.id); })},
                         {"theta", number(n.theta, [&] { return fmt::format("theta of neuron {}", n.id); })}};
    neurons.push_back(o);
  }
  j["neurons"] = neurons;
  json arrows = json::array();
  for (const ArrowSpec& a : net.arrow_specs()) {
    json o{{"from", a.from},
           {"to", a.to},
           {"w", number(a.w, [&] { return fmt::format("the weight of arrow ({}, {})", a.from, a.to); })}};
    if (a.keep)
      o["keep"] = number(*a.keep, [&] { return fmt::format("the keep probability of arrow ({}, {})", a.from, a.to); });
    arrows.push_back(o);
  }
  j["arrows"] = arrows;
  j["dropout"] = {{"default_keep", number(net.default_keep, [&] { return fmt::format("default_keep"); })}};
  j["batch_norm"] = {{"mode", mode_name(net.batch_norm_mode)},
                     {"eps", number(net.batch_norm_eps, [&] { return fmt::format("batch_norm eps"); })},
                     {"momentum", number(net.batch_norm_momentum, [&] { return fmt::format("batch_norm momentum"); })}};
  return j.dump(2) + "\n";
}

Network network_from_json(std::string_view text) {
  const json root = parse_strict(text);
  if (!root.is_object()) raise<ValueError>("network JSON: the top level must be an object");
  if (root.contains("format") && root["format"] != "tapegrad-network")
    raise<ValueError>("network JSON: unknown format {} (expected 'tapegrad-network')", describe(root["format"]));
  if (root.contains("version") && !(root["version"].is_number_integer() && root["version"] == 1))
    raise<ValueError>("network JSON: version {} is not supported (this build reads version 1)",
                      root["version"].is_number() ? root["version"].dump() : describe(root["version"]));
  Network net;
  const json& inputs = array_field(root, "inputs");
  const json& outputs = array_field(root, "outputs");
  std::vector<int64_t> input_ids, output_ids;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].is_number_integer()) raise<ValueError>("network JSON: inputs[{}] must be an integer id", i);
    input_ids.push_back(inputs[i].get<int64_t>());
  }
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (!outputs[i].is_number_integer()) raise<ValueError>("network JSON: outputs[{}] must be an integer id", i);
    output_ids.push_back(outputs[i].get<int64_t>());
  }
  std::vector<int64_t> typed_inputs;
  const json& neurons = array_field(root, "neurons");
  for (size_t i = 0; i < neurons.size(); ++i) {
    const std::string where = fmt::format("neurons[{}]", i);
    const auto id = field<int64_t>(neurons[i], "id", where);
    const auto type = field_or<std::string>(neurons[i], "type", "neuron", where);
    if (type == "input") {
      typed_inputs.push_back(id);
      continue;
    }
    if (type != "neuron" && type != "hidden" && type != "output")
      raise<ValueError>("network JSON: {} (id {}): unknown type {} (input, neuron)", where, id, quote_excerpt(type));
    NeuronSpec n;
    n.id = id;
    try {
      n.activation = activation_from_name(field_or<std::string>(neurons[i], "activation", "identity", where));
    } catch (const ValueError& e) {
      raise<ValueError>("network JSON: {} (id {}): {}", where, id, e.what());
    }
    n.beta = field_or<double>(neurons[i], "beta", 0.0, where);
    if (const json* bn = optional_object(neurons[i], "batch_norm", where)) {
      n.batch_norm = true;
      n.gamma = field_or<double>(*bn, "gamma", 1.0, where + ".batch_norm");
      n.theta = field_or<double>(*bn, "theta", 0.0, where + ".batch_norm");
    }
    net.add_neuron(n);
  }
  for (int64_t id : typed_inputs)
    if (std::find(input_ids.begin(), input_ids.end(), id) == input_ids.end())
      raise<ValueError>("network JSON: neuron {} has type input but is not listed in 'inputs'", id);
  for (int64_t id : input_ids) net.add_input(id);
  const json& arrows = array_field(root, "arrows");
  for (size_t i = 0; i < arrows.size(); ++i) {
    const std::string where = fmt::format("arrows[{}]", i);
    ArrowSpec a;
    a.from = field<int64_t>(arrows[i], "from", where);
    a.to = field<int64_t>(arrows[i], "to", where);
    a.w = field<double>(arrows[i], "w", where);
    if (arrows[i].contains("keep")) a.keep = field<double>(arrows[i], "keep", where);
    net.add_arrow(a);
  }
  net.set_outputs(output_ids);
  if (const json* dropout = optional_object(root, "dropout", ""))
    net.default_keep = field_or<double>(*dropout, "default_keep", 1.0, "dropout");
  if (const json* bn_ptr = optional_object(root, "batch_norm", "")) {
    const json& bn = *bn_ptr;
    const auto mode = field_or<std::string>(bn, "mode", "full", "batch_norm");
    if (mode != "full" && mode != "seed")
      raise<ValueError>("network JSON: batch_norm.mode must be 'full' or 'seed', got {}", quote_excerpt(mode));
    net.batch_norm_mode = mode == "full" ? BatchNormMode::full : BatchNormMode::seed;
    net.batch_norm_eps = field_or<double>(bn, "eps", 1e-5, "batch_norm");
    net.batch_norm_momentum = field_or<double>(bn, "momentum", 0.1, "batch_norm");
  }
  net.finalize();  // structure errors (unknown ids, duplicates, cycles, ...) are raised here
  return net;
}

Network load_network(const std::string& path) {
  const std::string text = read_file(path, "load_network");
  try {
    return network_from_json(text);
  } catch (const ValueError& e) {
    raise<ValueError>("{}: {}", path, e.what());
  }
}

void save_network(const Network& net, const std::string& path) { write_file_atomically(path, to_json(net)); }

}  // namespace tapegrad::nn
