#include "nn/seed/network.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "autodiff/error.hpp"

namespace tapegrad::nn {

void Network::add_input(int64_t id) {
  inputs_.push_back(id);
  finalized_ = false;
}
void Network::add_neuron(const NeuronSpec& spec) {
  neurons_.push_back(spec);
  finalized_ = false;
}
void Network::add_arrow(const ArrowSpec& spec) {
  arrows_.push_back(spec);
  finalized_ = false;
}
void Network::set_outputs(std::vector<int64_t> ids) {
  output_ids_ = std::move(ids);
  finalized_ = false;
}

const Network& Network::checked() const {
  if (!finalized_) raise<ValueError>("network: call finalize() after building or changing it");
  return *this;
}

void Network::finalize() {
  finalized_ = false;
  if (inputs_.empty()) raise<ValueError>("network: no input neurons");
  if (output_ids_.empty()) raise<ValueError>("network: no output neurons");
  if (!(default_keep > 0.0 && default_keep <= 1.0))
    raise<ValueError>("network: default keep probability must be in (0, 1], got {}", default_keep);
  if (!(batch_norm_eps > 0.0 && std::isfinite(batch_norm_eps)))
    raise<ValueError>("network: batch-norm eps must be positive and finite, got {}", batch_norm_eps);
  if (!(batch_norm_momentum >= 0.0 && batch_norm_momentum <= 1.0))
    raise<ValueError>("network: batch-norm momentum must be in [0, 1], got {}", batch_norm_momentum);
  for (const NeuronSpec& n : neurons_)
    if (!std::isfinite(n.beta) || !std::isfinite(n.gamma) || !std::isfinite(n.theta))
      raise<ValueError>("network: neuron {} has a non-finite parameter (beta {}, gamma {}, theta {})", n.id, n.beta,
                        n.gamma, n.theta);

  // Ids: unique across inputs and neurons.
  std::map<int64_t, int> kind;  // id -> -1 input, else index into neurons_
  for (int64_t id : inputs_)
    if (!kind.emplace(id, -1).second) raise<ValueError>("network: duplicate input id {}", id);
  for (size_t i = 0; i < neurons_.size(); ++i)
    if (!kind.emplace(neurons_[i].id, static_cast<int>(i)).second)
      raise<ValueError>("network: duplicate neuron id {}", neurons_[i].id);

  // Arrows: known ends, not into an input, no duplicates, valid keep.
  std::map<int64_t, std::vector<uint32_t>> incoming, outgoing;
  std::set<std::pair<int64_t, int64_t>> seen;
  for (size_t a = 0; a < arrows_.size(); ++a) {
    const ArrowSpec& s = arrows_[a];
    if (!kind.count(s.from)) raise<ValueError>("network: arrow {} -> {} starts at unknown id {}", s.from, s.to, s.from);
    if (!kind.count(s.to)) raise<ValueError>("network: arrow {} -> {} ends at unknown id {}", s.from, s.to, s.to);
    if (kind[s.to] == -1) raise<ValueError>("network: arrow {} -> {} goes into input {}", s.from, s.to, s.to);
    if (!seen.emplace(s.from, s.to).second) raise<ValueError>("network: duplicate arrow {} -> {}", s.from, s.to);
    if (!std::isfinite(s.w)) raise<ValueError>("network: arrow {} -> {} has a non-finite weight {}", s.from, s.to, s.w);
    const double keep = s.keep.value_or(default_keep);
    if (!(keep > 0.0 && keep <= 1.0))
      raise<ValueError>("network: arrow {} -> {} keep probability must be in (0, 1], got {}", s.from, s.to, keep);
    incoming[s.to].push_back(static_cast<uint32_t>(a));
    outgoing[s.from].push_back(static_cast<uint32_t>(a));
  }
  for (int64_t id : output_ids_)
    if (!kind.count(id) || kind[id] == -1) raise<ValueError>("network: output id {} is not a neuron", id);

  // Kahn's algorithm over neurons; ties broken by id, so the order is deterministic.
  std::map<int64_t, size_t> pending;
  std::set<int64_t> ready;
  for (const NeuronSpec& n : neurons_) {
    size_t from_neurons = 0;
    for (uint32_t a : incoming[n.id]) from_neurons += kind[arrows_[a].from] != -1;
    pending[n.id] = from_neurons;
    if (from_neurons == 0) ready.insert(n.id);
  }
  std::vector<int64_t> order;
  while (!ready.empty()) {
    const int64_t id = *ready.begin();
    ready.erase(ready.begin());
    order.push_back(id);
    for (uint32_t a : outgoing[id])
      if (--pending[arrows_[a].to] == 0) ready.insert(arrows_[a].to);
  }
  if (order.size() != neurons_.size()) {
    // Neurons left over lie on a cycle or downstream of one: walk back from one to show a cycle.
    std::set<int64_t> left;
    for (auto& [id, count] : pending)
      if (count > 0) left.insert(id);
    int64_t at = *left.begin();
    std::vector<int64_t> path;
    std::map<int64_t, size_t> where;
    while (!where.count(at)) {
      where[at] = path.size();
      path.push_back(at);
      for (uint32_t a : incoming[at])
        if (left.count(arrows_[a].from)) {
          at = arrows_[a].from;
          break;
        }
    }
    std::vector<int64_t> cycle(path.begin() + static_cast<std::ptrdiff_t>(where[at]), path.end());
    std::reverse(cycle.begin(), cycle.end());
    cycle.push_back(cycle.front());
    constexpr size_t kShown = 8;  // a cycle of a million neurons is named by its start and length
    if (cycle.size() <= kShown + 1)
      raise<ValueError>("network: the arrows contain a cycle: {}", fmt::join(cycle, " -> "));
    raise<ValueError>("network: the arrows contain a cycle of {} neurons: {} -> ... -> {}", cycle.size() - 1,
                      fmt::join(cycle.begin(), cycle.begin() + kShown, " -> "), cycle.back());
  }

  units_.clear();
  edges_.clear();
  edge_spec_.clear();
  unit_spec_.clear();
  std::map<int64_t, uint32_t> unit_index;
  for (int64_t id : inputs_) {
    unit_index[id] = static_cast<uint32_t>(units_.size());
    units_.push_back(Unit{id, true, Activation::identity, false, 0, 0});
    unit_spec_.push_back(-1);
  }
  for (int64_t id : order) {
    const NeuronSpec& n = neurons_[static_cast<size_t>(kind[id])];
    unit_index[id] = static_cast<uint32_t>(units_.size());
    units_.push_back(Unit{id, false, n.activation, n.batch_norm, 0, 0});
    unit_spec_.push_back(kind[id]);
  }
  for (Unit& u : units_) {
    u.in_begin = static_cast<uint32_t>(edges_.size());
    for (uint32_t a : incoming[u.id]) {
      const ArrowSpec& s = arrows_[a];
      edges_.push_back(Edge{unit_index[s.from], unit_index[s.to], s.keep.value_or(default_keep)});
      edge_spec_.push_back(a);
    }
    u.in_end = static_cast<uint32_t>(edges_.size());
  }
  outputs_.clear();
  for (int64_t id : output_ids_) outputs_.push_back(unit_index[id]);
  finalized_ = true;
}

uint32_t Network::unit_of(int64_t id) const {
  for (size_t u = 0; u < checked().units_.size(); ++u)
    if (units_[u].id == id) return static_cast<uint32_t>(u);
  raise<ValueError>("network: no neuron with id {}", id);
}

uint32_t Network::edge_of(int64_t from, int64_t to) const {
  for (size_t e = 0; e < checked().edges_.size(); ++e)
    if (units_[edges_[e].src].id == from && units_[edges_[e].dst].id == to) return static_cast<uint32_t>(e);
  raise<ValueError>("network: no arrow {} -> {}", from, to);
}

Parameters Network::parameters() const {
  checked();
  Parameters p;
  for (uint32_t a : edge_spec_) p.w.push_back(arrows_[a].w);
  for (int s : unit_spec_) {
    const NeuronSpec* n = s < 0 ? nullptr : &neurons_[static_cast<size_t>(s)];
    p.beta.push_back(n ? n->beta : 0.0);
    p.gamma.push_back(n && n->batch_norm ? n->gamma : 1.0);
    p.theta.push_back(n && n->batch_norm ? n->theta : 0.0);
  }
  return p;
}

void Network::set_parameters(const Parameters& p) {
  checked();
  if (p.w.size() != edges_.size() || p.beta.size() != units_.size() || p.gamma.size() != units_.size() ||
      p.theta.size() != units_.size())
    raise<ValueError>(
        "network: parameters sized for another network ({} weights for {} arrows, {} biases for {} units)", p.w.size(),
        edges_.size(), p.beta.size(), units_.size());
  for (size_t e = 0; e < edges_.size(); ++e) arrows_[edge_spec_[e]].w = p.w[e];
  for (size_t u = 0; u < units_.size(); ++u) {
    if (unit_spec_[u] < 0) continue;
    NeuronSpec& n = neurons_[static_cast<size_t>(unit_spec_[u])];
    n.beta = p.beta[u];
    if (n.batch_norm) {
      n.gamma = p.gamma[u];
      n.theta = p.theta[u];
    }
  }
}

std::string to_dot(const Network& net) {
  std::string out = "digraph network {\n  rankdir=LR;\n";
  std::set<int64_t> outputs(net.output_ids().begin(), net.output_ids().end());
  for (int64_t id : net.input_ids()) out += fmt::format("  n{} [shape=box, label=\"in {}\"];\n", id, id);
  for (const NeuronSpec& n : net.neuron_specs())
    out += fmt::format("  n{} [shape={}, label=\"{}\\n{}{}\\nbeta={:.3g}\"];\n", n.id,
                       outputs.count(n.id) ? "doublecircle" : "circle", n.id, activation_name(n.activation),
                       n.batch_norm ? " +BN" : "", n.beta);
  for (const ArrowSpec& a : net.arrow_specs())
    if (a.keep && *a.keep < 1.0)  // DropConnect: the keep probability too, dashed
      out += fmt::format("  n{} -> n{} [label=\"{:.3g}\\np={:.3g}\", style=dashed];\n", a.from, a.to, a.w, *a.keep);
    else
      out += fmt::format("  n{} -> n{} [label=\"{:.3g}\"];\n", a.from, a.to, a.w);
  return out + "}\n";
}

}  // namespace tapegrad::nn
