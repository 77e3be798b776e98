#pragma once
// Gradient averaging for data-parallel training: after backward, every rank holds the weighted sum
// of all ranks' gradients, bit-identical on every rank. Gradients travel in contiguous buckets (one
// MPI_Iallreduce per bucket, not per parameter), filled from the last parameter to the first, the
// order in which the reverse sweep finishes them; with `overlap`, a bucket is sent as soon as the
// sweep is done with its parameters (BackwardOptions::on_grad_ready), while the sweep goes on.
// Buckets are sent in one fixed order on every rank, so the collectives always match.
//
//   dist::GradientReducer reducer(model.parameters());
//   for each step:
//     opt.zero_grad();
//     Tensor loss = nn::cross_entropy(model(x), y);               // mean over this rank's rows
//     reducer.backward(loss, dist::share(rows, loader.batch_rows(b)));  // mean over the whole batch
//     opt.step();                                                   // the same step on every rank
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "autodiff/tensor.hpp"

namespace tapegrad::dist {

struct ReducerOptions {
  size_t bucket_bytes = size_t{1} << 20;  // a bucket closes when the next parameter would pass this
  bool overlap = true;                    // send buckets during the sweep (else after it)
};

/// The weight of a rank whose loss is the mean over `rows` of a batch of `batch_rows` rows over all
/// ranks: the weighted sum of the ranks' gradients is then the gradient of the whole batch's mean.
double share(int64_t rows, int64_t batch_rows);

class GradientReducer {
 public:
  /// The parameters (leaves requiring grad), the same list in the same order on every rank.
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

  size_t num_buckets() const { return buckets_.size(); }
  /// Seconds this rank spent waiting for reductions to finish, since construction.
  double wait_seconds() const { return wait_seconds_; }

 private:
  struct Bucket {
    std::vector<size_t> members;  // parameter indices, in the order they are packed
    Array buffer;
    size_t pending = 0;  // members whose gradient is not final yet this step
  };
  void start_step(double weight);
  void on_ready(const Array& value);
  enum class Direction { pack, unpack };  // weight * gradients into the buffer, or the sums back
  void copy_gradients(Bucket& b, Direction direction);
  void launch_ready();  // sends the next buckets in order while they are complete
  void finish();

  std::vector<Tensor> parameters_;
  std::vector<size_t> bucket_of_;                                // per parameter
  std::vector<std::pair<const Array*, size_t>> index_by_value_;  // sorted: the hook's lookup
  std::vector<Bucket> buckets_;
  struct Requests;  // MPI_Request per bucket (mpi.h stays out of this header)
  std::unique_ptr<Requests> requests_;
  size_t launched_ = 0;
  double weight_ = 1.0;
  double wait_seconds_ = 0;
  ReducerOptions options_;
};

}  // namespace tapegrad::dist
