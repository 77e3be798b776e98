#pragma once
/// \file
/// A neuron-level network (seed eq. 1): any DAG of neurons with integer ids. Inputs are the source
/// nodes (o = x, no psi, beta or sigma); every other neuron computes
///   psi_k = sum_{l:(l,k)} w_kl r_kl o_l + beta_k,   o_k = sigma_k(psihat_k)
/// with psihat_k = psi_k, or batch-normalised (eq. 17) when the neuron has batch norm.
/// A neuron may be an output and feed others, may reach no output, and may have no incoming arrow
/// (psi = beta). Neurons and arrows are added in any order; finalize() validates and sorts.
///
/// This header is tape-free: the closed-form reference and the tape model both read it.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "nn/functional/activation_kind.hpp"
#include "nn/functional/options.hpp"

namespace tapegrad::nn {

/// One neuron of a seed network: its activation sigma_k, bias beta_k and optional batch norm (eq. 17).
struct NeuronSpec {
  int64_t id = 0;                                ///< the neuron's id (unique among inputs and neurons)
  Activation activation = Activation::identity;  ///< sigma_k
  double beta = 0.0;                             ///< beta_k (eq. 1)
  bool batch_norm = false;                       ///< batch-normalise psi_k (eq. 17)
  double gamma = 1.0;                            ///< eq. 17 scale
  double theta = 0.0;                            ///< eq. 17 shift
};

/// An arrow (l, k) with its weight w_kl (eq. 1).
struct ArrowSpec {
  int64_t from = 0;            ///< source id l
  int64_t to = 0;              ///< destination id k
  double w = 0.0;              ///< w_kl
  std::optional<double> keep;  ///< DropConnect keep probability p_kl (eq. 10); default_keep if unset
};

/// The network's trainable values in the finalized order (see Network::units/edges).
struct Parameters {
  std::vector<double> w;      ///< per edge
  std::vector<double> beta;   ///< per unit (0 for inputs)
  std::vector<double> gamma;  ///< per unit (1 where no batch norm)
  std::vector<double> theta;  ///< per unit (0 where no batch norm)
};

/// A neuron-level network (see the file comment): built from inputs, neurons and arrows, then
/// finalize()d into a sorted view that the tape model and the closed form both read.
class Network {
 public:
  // ---- building (any order) ----
  /// Adds an input (a source: o = x).
  void add_input(int64_t id);
  /// Adds a neuron (ValueError at finalize for a duplicate id).
  void add_neuron(const NeuronSpec& spec);
  /// Adds an arrow (ValueError at finalize for an unknown end or a duplicate).
  void add_arrow(const ArrowSpec& spec);
  /// The neurons whose outputs the network returns, in order.
  void set_outputs(std::vector<int64_t> ids);

  /// Keep probability of arrows that do not set their own (1: no dropout).
  double default_keep = 1.0;
  /// Batch normalisation's mode (full, or the seed's eq. 21).
  BatchNormMode batch_norm_mode = BatchNormMode::full;
  /// epsilon of batch normalisation (eq. 18).
  double batch_norm_eps = 1e-5;
  /// Running-statistics update weight (PyTorch's BN momentum).
  double batch_norm_momentum = 0.1;

  /// Validates (ValueError naming what and where) and computes the sorted view below.
  void finalize();
  /// Whether finalize() has run since the last change.
  bool finalized() const { return finalized_; }

  // ---- the finalized view ----
  /// A unit of the finalized view: an input or a neuron.
  struct Unit {
    int64_t id;             ///< its id
    bool is_input;          ///< an input (no psi, beta or sigma)
    Activation activation;  ///< sigma
    bool batch_norm;        ///< batch-normalised
    ///@{
    /// Its incoming edges: edges()[in_begin, in_end).
    uint32_t in_begin, in_end;
    ///@}
  };
  /// An arrow of the finalized view.
  struct Edge {
    ///@{
    /// Unit indices of its ends.
    uint32_t src, dst;
    ///@}
    double keep;  ///< DropConnect keep probability
  };
  /// Inputs first (in input order), then neurons in a topological order.
  const std::vector<Unit>& units() const { return checked().units_; }
  /// Grouped by destination, in unit order.
  const std::vector<Edge>& edges() const { return checked().edges_; }
  /// Unit indices of the outputs, in set_outputs order.
  const std::vector<uint32_t>& output_units() const { return checked().outputs_; }
  /// Number of inputs.
  size_t num_inputs() const { return inputs_.size(); }
  /// Number of outputs.
  size_t num_outputs() const { return output_ids_.size(); }
  /// Unit index of a neuron id; ValueError if unknown.
  uint32_t unit_of(int64_t id) const;
  /// Edge index of arrow (from, to); ValueError if there is none.
  uint32_t edge_of(int64_t from, int64_t to) const;

  /// The trainable values, in the finalized order.
  Parameters parameters() const;
  /// Sets them (ValueError unless every vector has the finalized size).
  void set_parameters(const Parameters& p);

  /// Raw specs, as built or loaded (for saving).
  const std::vector<int64_t>& input_ids() const { return inputs_; }
  /// The output ids as set.
  const std::vector<int64_t>& output_ids() const { return output_ids_; }
  /// The neurons as added.
  const std::vector<NeuronSpec>& neuron_specs() const { return neurons_; }
  /// The arrows as added.
  const std::vector<ArrowSpec>& arrow_specs() const { return arrows_; }

 private:
  const Network& checked() const;
  std::vector<int64_t> inputs_;
  std::vector<NeuronSpec> neurons_;
  std::vector<ArrowSpec> arrows_;
  std::vector<int64_t> output_ids_;

  bool finalized_ = false;
  std::vector<Unit> units_;
  std::vector<Edge> edges_;
  std::vector<uint32_t> edge_spec_;  ///< edge -> index into arrows_
  std::vector<int> unit_spec_;       ///< unit -> index into neurons_ (-1 for inputs)
  std::vector<uint32_t> outputs_;
};

/// Graphviz DOT text: neurons (inputs as boxes, outputs double circles), arrows labelled with w.
std::string to_dot(const Network& net);

}  // namespace tapegrad::nn
