#pragma once
/// \file
/// The hand-derived twin of a layered model, written without the tape: back-propagation as matrix
/// products (the seed's lambda equations, eq. 2-5, for a whole layer and minibatch at once), with
/// batch normalisation (eq. 16-23, full or seed mode), unit dropout and DropConnect (eq. 11-13,
/// one mask per minibatch). It is the check of the tape's layers (equal to 1e-12 in float64) and
/// the baseline the MLP benchmarks race against, so its step is as lean as hand-written code gets:
/// BLAS products, one pass per elementwise stage, buffers reused (a warm step allocates nothing).
///
/// A layer is Linear -> [BatchNorm1d] -> activation -> [Dropout], as nn::Sequential{Linear(in, out),
/// BatchNorm1d(out), ReLU(), Dropout(p)}; the last layer is a plain Linear giving the logits, and
/// the loss is the mean softmax cross-entropy. Arrays are row-major: activations [batch, features],
/// weights [out, in] (as nn::Linear).
#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "nn/functional/options.hpp"
#include "nn/reference/activation.hpp"

namespace tapegrad::nn::reference {

/// One layer of the reference MLP: Linear(in, out), optional batch norm, activation, dropout, DropConnect.
struct MlpLayerSpec {
  ///@{
  /// Input and output widths.
  int64_t in = 0, out = 0;
  ///@}
  Activation activation = Activation::relu;  ///< ignored for the last layer (logits)
  bool batch_norm = false;                   ///< affine BatchNorm1d after the Linear
  double dropout = 0.0;                      ///< drop probability after the activation
  double dropconnect_keep = 1.0;             ///< DropConnect keep probability on the Linear's weights
};

/// Options of the reference MLP, matching the tape model's.
struct MlpOptions {
  BatchNormMode batch_norm_mode = BatchNormMode::full;  ///< full batch norm, or the seed's eq. 21
  double eps = 1e-5;                                    ///< batch norm epsilon
  double momentum = 0.1;                                ///< running-statistics update weight
  /// The most BLAS threads a product uses; small products use one (blas::use_threads_for, the rule
  /// the tape's kernels follow with tapegrad::num_threads()).
  int blas_threads = 1;
};

/// A layer's parameters, gradients, masks and the step's buffers (all row-major).
template <class T>
struct MlpLayer {
  MlpLayerSpec spec;  ///< its specification
  ///@{
  /// Parameters and buffers: weight [out, in], bias, gamma and beta (batch norm, [out]), running
  /// mean and variance ([out]).
  std::vector<T> weight, bias, gamma, beta, running_mean, running_var;
  ///@}
  ///@{
  /// Gradients of the parameters, written by each step.
  std::vector<T> grad_weight, grad_bias, grad_gamma, grad_beta;
  ///@}
  std::vector<T> dropout_mask;      ///< [batch, out]: 0 or 1 / (1 - p); drawn by draw_masks or set by the caller
  std::vector<T> dropconnect_mask;  ///< [out, in]: 0 or 1
  ///@{
  /// The step's buffers: z = h W~^T + b, xhat and 1/sigma (batch norm), y = the layer's output,
  /// dropped = y o dropout mask, delta = dL/dz (lambda in the seed's notation), W~ = W o R (DropConnect).
  std::vector<T> z, xhat, inv_std, mean, y, dropped, delta, masked_weight;
  ///@}
};

/// The hand-derived (closed-form) MLP: forward and backward written out without the tape, the
/// baseline the tape is checked and benchmarked against.
template <class T>
class Mlp {
 public:
  /// Parameters start at zero (set them, e.g. copied from the tape model); gamma at 1, running
  /// variance at 1. ValueError when consecutive layers do not fit or an option is out of range.
  Mlp(std::vector<MlpLayerSpec> layers, MlpOptions options = {});

  /// The layers, to set parameters and masks and read gradients.
  std::vector<MlpLayer<T>>& layers() { return layers_; }
  /// The same, read-only.
  const std::vector<MlpLayer<T>>& layers() const { return layers_; }

  /// Draws the masks of every dropout and DropConnect layer for a batch, one generator per
  /// layer (as the tape's Dropout and DropConnect layers each own one): the same draws as theirs.
  void draw_masks(int64_t batch, std::span<std::mt19937_64> generators);

  /// One training step's forward and backward pass on x [batch, in]: fills every gradient
  /// (overwriting), updates batch norm's running statistics, returns the mean cross-entropy.
  double train_step(std::span<const T> x, std::span<const int64_t> labels);
  /// The same, and writes dL/dx [batch, in] into grad_x (the CNN twin's dense head hands its input's
  /// gradient down to the convolutions). ShapeError when grad_x is not x's size.
  double train_step(std::span<const T> x, std::span<const int64_t> labels, std::span<T> grad_x);

  /// Logits [batch, classes] of the last step.
  std::span<const T> logits() const { return layers_.back().z; }

 private:
  void forward_layer(MlpLayer<T>& layer, const T* h, int64_t m, bool last);
  void backward_layer(MlpLayer<T>& layer, const T* h, int64_t m, T* delta_below);
  const T* input_of(std::span<const T> x, size_t l) const;  ///< x, or the output of layer l - 1
  std::vector<MlpLayer<T>> layers_;
  MlpOptions options_;
};

extern template class Mlp<float>;
extern template class Mlp<double>;

}  // namespace tapegrad::nn::reference
