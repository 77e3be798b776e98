#include "distributed/reducer.hpp"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>

#include "distributed/detail/mpi.hpp"
#include "distributed/environment.hpp"

namespace tapegrad::dist {

using detail::check_mpi;

struct GradientReducer::Requests {
  std::vector<MPI_Request> of_bucket;
};

double share(int64_t rows, int64_t batch_rows) {
  if (rows < 0 || batch_rows < 1 || rows > batch_rows)
    raise<ValueError>("dist::share: {} rows of a batch of {} is not a share", rows, batch_rows);
  return double(rows) / double(batch_rows);
}

GradientReducer::GradientReducer(std::vector<Tensor> parameters, ReducerOptions options)
    : parameters_(std::move(parameters)), requests_(std::make_unique<Requests>()), options_(options) {
  // Buckets from the last parameter to the first (the sweep finishes the last layers first), one
  // dtype each, closed when the next parameter would pass bucket_bytes (or an MPI int count).
  bucket_of_.resize(parameters_.size());
  size_t bytes = 0;
  for (size_t i = parameters_.size(); i-- > 0;) {
    const Tensor& p = parameters_[i];
    if (!p.is_leaf() || !p.requires_grad())
      raise<ValueError>("GradientReducer: parameter {} is not a leaf that requires grad", i);
    const size_t size = static_cast<size_t>(p.numel()) * detail::dtype_bytes(p.dtype());
    if (buckets_.empty() || bytes + size > std::min(options_.bucket_bytes, size_t{INT_MAX}) ||
        p.dtype() != parameters_[buckets_.back().members.front()].dtype()) {
      buckets_.emplace_back();
      bytes = 0;
    }
    buckets_.back().members.push_back(i);
    bucket_of_[i] = buckets_.size() - 1;
    bytes += size;
  }
  for (Bucket& b : buckets_) {
    int64_t count = 0;
    for (size_t i : b.members) count += parameters_[i].numel();
    if (count > INT_MAX)  // only a single parameter of over 2^31 elements gets here
      raise<ValueError>("GradientReducer: parameter {} has {} elements, more than one MPI call sends", b.members[0],
                        count);
    b.buffer = Array(Shape{count}, parameters_[b.members.front()].dtype());
  }
  for (size_t i = 0; i < parameters_.size(); ++i) {
    index_by_value_.emplace_back(&parameters_[i].value(), i);
    layout_.emplace_back(parameters_[i].numel(), parameters_[i].dtype());
  }
  std::sort(index_by_value_.begin(), index_by_value_.end());
  for (size_t k = 1; k < index_by_value_.size(); ++k)
    if (index_by_value_[k].first == index_by_value_[k - 1].first)
      raise<ValueError>("GradientReducer: parameters {} and {} are the same tensor (list each once)",
                        index_by_value_[k - 1].second, index_by_value_[k].second);
  requests_->of_bucket.assign(buckets_.size(), MPI_REQUEST_NULL);
}

GradientReducer::~GradientReducer() {
  // An exception between start and finish leaves requests in flight: complete them (every rank
  // started the same ones) before the buffers go, unless MPI is already shut down.
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized) return;
  for (MPI_Request& r : requests_->of_bucket)
    if (r != MPI_REQUEST_NULL) MPI_Wait(&r, MPI_STATUS_IGNORE);
}

void GradientReducer::start_step(double weight) {
  if (!std::isfinite(weight) || weight < 0)
    raise<ValueError>("GradientReducer: the weight must be finite and non-negative, got {}", weight);
  for (size_t i = 0; i < parameters_.size(); ++i)
    if (parameters_[i].numel() != layout_[i].first || parameters_[i].dtype() != layout_[i].second)
      raise<ValueError>(
          "GradientReducer: parameter {} is now {} {} elements, but the reducer was made for {} {}; make it after "
          "Module::to() and resizing",
          i, dtype_name(parameters_[i].dtype()), parameters_[i].numel(), dtype_name(layout_[i].second),
          layout_[i].first);
  weight_ = weight;
  launched_ = 0;
  for (Bucket& b : buckets_) b.pending = b.members.size();
}

void GradientReducer::on_ready(const Array& value) {
  const auto it =
      std::lower_bound(index_by_value_.begin(), index_by_value_.end(), std::pair<const Array*, size_t>(&value, 0));
  if (it == index_by_value_.end() || it->first != &value) return;  // a leaf that is not one of ours
  --buckets_[bucket_of_[it->second]].pending;
  launch_ready();
}

void GradientReducer::copy_gradients(Bucket& b, Direction direction) {
  visit(b.buffer.dtype(), [&]<class T>(T) {
    T* buffer = b.buffer.data<T>();
    const T weight = static_cast<T>(weight_);
    for (size_t i : b.members) {
      Array& g = parameters_[i].mutable_grad();
      T* grad = g.data<T>();
      const int64_t n = g.numel();
      if (direction == Direction::pack)
        for (int64_t k = 0; k < n; ++k) buffer[k] = weight * grad[k];
      else
        std::copy(buffer, buffer + n, grad);
      buffer += n;
    }
  });
}

void GradientReducer::launch_ready() {
  for (; launched_ < buckets_.size() && buckets_[launched_].pending == 0; ++launched_) {
    Bucket& b = buckets_[launched_];
    copy_gradients(b, Direction::pack);
    check_mpi(
        MPI_Iallreduce(MPI_IN_PLACE, b.buffer.data<char>(), static_cast<int>(b.buffer.numel()),
                       detail::mpi_type(b.buffer.dtype()), MPI_SUM, MPI_COMM_WORLD, &requests_->of_bucket[launched_]),
        "MPI_Iallreduce");
  }
}

void GradientReducer::finish() {
  const auto start = std::chrono::steady_clock::now();
  if (options_.overlap) {
    for (Bucket& b : buckets_) b.pending = 0;  // parameters the sweep did not reach are final too
    launch_ready();
    check_mpi(MPI_Waitall(static_cast<int>(buckets_.size()), requests_->of_bucket.data(), MPI_STATUSES_IGNORE),
              "MPI_Waitall");
  } else {
    for (Bucket& b : buckets_) {
      copy_gradients(b, Direction::pack);
      check_mpi(MPI_Allreduce(MPI_IN_PLACE, b.buffer.data<char>(), static_cast<int>(b.buffer.numel()),
                              detail::mpi_type(b.buffer.dtype()), MPI_SUM, MPI_COMM_WORLD),
                "MPI_Allreduce");
    }
  }
  for (Bucket& b : buckets_) copy_gradients(b, Direction::unpack);
  reduce_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void GradientReducer::backward(const Tensor& loss, double weight) {
  start_step(weight);
  if (options_.overlap)
    loss.backward({.on_grad_ready = [this](const Array& value, Array&) { on_ready(value); }});
  else
    loss.backward();
  finish();
}

void GradientReducer::reduce(double weight) {
  start_step(weight);
  finish();
}

}  // namespace tapegrad::dist
