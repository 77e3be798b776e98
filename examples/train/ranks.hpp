#pragma once
// The trainer's view of data parallelism. Run alone, it is rank 0 of 1 and every call below is the
// single-process behaviour; started by `mpirun -np N` (in a build with tapegrad::dist), it is one of
// N ranks that each train on their shard of every batch and average gradients after backward.
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "autodiff/tensor.hpp"
#include "nn/layers/module.hpp"

namespace trainer {

class Ranks {
 public:
  /// Starts MPI when an MPI launcher started this process, then runs body; under MPI an exception
  /// on any rank ends every rank with a message naming the rank (no rank is left waiting).
  static int run(int& argc, char**& argv, const std::function<int(Ranks&)>& body);
  ~Ranks();

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool root() const { return rank_ == 0; }

  /// Checks that every rank built the same model and describes the same job (data sizes and
  /// checksums, settings: one line each), then gives every rank rank 0's model values.
  void start(tapegrad::nn::Module& model, const std::vector<std::string>& job);
  /// backward of this rank's mean loss over `rows` of a batch of `batch_rows` rows, then the
  /// gradients of the whole batch's mean on every rank.
  void backward(const tapegrad::Tensor& loss, int64_t rows, int64_t batch_rows);
  /// This rank got no rows of the batch: joins the gradient average with zeros.
  void backward_nothing();
  /// Whether flag is set on any rank.
  bool any(bool flag);
  /// Sums over the ranks, in place.
  void sum(std::span<double> values);
  /// End of an epoch: the batch-norm running statistics averaged over the ranks.
  void end_epoch(tapegrad::nn::Module& model);
  /// Seconds spent averaging gradients after backward.
  double reduce_seconds() const;

 private:
  Ranks(int rank, int size);
  int rank_, size_;
  struct Reducer;
  std::unique_ptr<Reducer> reducer_;
};

}  // namespace trainer
