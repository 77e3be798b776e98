#pragma once
/// \file
/// Gradient averaging for data-parallel training: after backward, every rank holds the weighted sum
/// of all ranks' gradients, bit-identical on every rank. Gradients travel in contiguous buckets (one
/// allreduce per bucket, not per parameter), filled from the last parameter to the first, the order
/// in which the reverse sweep finishes them, and sent in that fixed order on every rank, so the
/// collectives always match.
///
/// With `overlap`, a bucket is sent (MPI_Iallreduce) as soon as the sweep is done with its
/// parameters (BackwardOptions::on_grad_ready), while the sweep goes on. It pays only where the MPI
/// library progresses messages by itself (hardware offload, a progress thread) and a core is free to
/// do it; with Open MPI over shared memory on this project's 2-core machine it does not (its
/// non-blocking allreduce is 2-3x slower than the blocking one, which progresses only when waited
/// on), so the default sends every bucket with a blocking MPI_Allreduce after the sweep.
///
///   dist::GradientReducer reducer(model.parameters());
///   for each step:
///     opt.zero_grad();
///     Tensor loss = nn::cross_entropy(model(x), y);                     // mean over this rank's rows
///     reducer.backward(loss, dist::share(rows, loader.batch_rows(b)));  // mean over the whole batch
///     opt.step();                                                        // the same step everywhere
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "autodiff/tensor.hpp"

namespace tapegrad::dist {

/// How GradientReducer groups and sends gradients.
struct ReducerOptions {
  size_t bucket_bytes = size_t{4} << 20;  ///< a bucket closes when the next parameter would pass this
  bool overlap = false;                   ///< send buckets during the sweep (else after it)
};

/// The weight of a rank whose loss is the mean over `rows` of a batch of `batch_rows` rows over all
/// ranks: the weighted sum of the ranks' gradients is then the gradient of the whole batch's mean.
double share(int64_t rows, int64_t batch_rows);

/// Averages gradients across ranks during or after the backward sweep: gradients are packed into
/// buckets of about bucket_bytes that are summed with MPI_Iallreduce (weighted by share()).
class GradientReducer {
 public:
  /// The parameters (leaves requiring grad, each once), the same list in the same order on every
  /// rank. Make the reducer after Module::to(): a parameter that changes size or dtype later is
  /// refused at the next step. Collective calls come from the thread that made the Environment.
  explicit GradientReducer(std::vector<Tensor> parameters, ReducerOptions options = {});
  ~GradientReducer();
  GradientReducer(const GradientReducer&) = delete;
  GradientReducer& operator=(const GradientReducer&) = delete;

  /// Collective. loss.backward() with the reduction overlapped; on return each parameter's gradient
  /// is sum over ranks of weight_r * (its gradient on rank r), identical on every rank.
  void backward(const Tensor& loss, double weight);
  /// Collective. The same reduction of gradients already accumulated (a rank with nothing to
  /// backpropagate, zero gradients and weight 0, joins with this).
  void reduce(double weight);

  /// How many buckets the parameters were grouped into.
  size_t num_buckets() const { return buckets_.size(); }
  /// Seconds this rank spent reducing after its sweep (packing, sending, waiting, unpacking), since
  /// construction: the reduction's share of a step.
  double reduce_seconds() const { return reduce_seconds_; }

 private:
  struct Bucket {
    std::vector<size_t> members;  // parameter indices, in the order they are packed
    Array buffer;
    size_t pending = 0;  // members whose gradient is not final yet this step
  };
  void start_step(double weight);
  void on_ready(const Array& value);
  enum class Direction { pack, unpack };  ///< weight * gradients into the buffer, or the sums back
  void copy_gradients(Bucket& b, Direction direction);
  void launch_ready();  ///< sends the next buckets in order while they are complete
  void finish();

  std::vector<Tensor> parameters_;
  std::vector<size_t> bucket_of_;                                ///< per parameter
  std::vector<std::pair<int64_t, DType>> layout_;                ///< per parameter: what the buckets were sized for
  std::vector<std::pair<const Array*, size_t>> index_by_value_;  ///< sorted: the hook's lookup
  std::vector<Bucket> buckets_;
  struct Requests;  ///< MPI_Request per bucket (mpi.h stays out of this header)
  std::unique_ptr<Requests> requests_;
  size_t launched_ = 0;
  double weight_ = 1.0;
  double reduce_seconds_ = 0;
  ReducerOptions options_;
};

}  // namespace tapegrad::dist
