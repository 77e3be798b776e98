#include "nn/layers/embedding.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "autodiff/error.hpp"
#include "autodiff/ops/shape_ops.hpp"

namespace tapegrad::nn {

Embedding::Embedding(int64_t num_embeddings, int64_t embedding_dim, std::mt19937_64& rng) {
  if (num_embeddings < 1 || embedding_dim < 1)
    raise<ValueError>("Embedding: sizes must be positive, got {} embeddings of dimension {}", num_embeddings,
                      embedding_dim);
  weight = Tensor::randn({num_embeddings, embedding_dim}, rng);
  register_parameter("weight", weight);
}

Tensor Embedding::operator()(std::span<const int64_t> ids, const Shape& shape) {
  if (shape.numel() != static_cast<int64_t>(ids.size()))
    raise<ShapeError>("Embedding: {} ids do not fill the shape {}", ids.size(), shape);
  const int64_t rows = weight.shape()[0];
  for (const int64_t id : ids)
    if (id < 0 || id >= rows) raise<ValueError>("Embedding: id {} out of range for a table of {} rows", id, rows);
  if (shape.rank() >= kMaxRank)
    raise<ShapeError>("Embedding: ids of shape {} leave no room for the embedding dimension (rank {} at most)", shape,
                      kMaxRank);
  int64_t out[kMaxRank];  // shape, then the embedding dimension
  std::copy(shape.dims().begin(), shape.dims().end(), out);
  out[shape.rank()] = weight.shape()[1];
  return reshape(index_select(weight, 0, ids), std::span<const int64_t>(out, static_cast<size_t>(shape.rank() + 1)));
}

Tensor Embedding::forward(const Tensor& x) {
  // The ids are converted into a temporary here, which replay could neither reach nor redo.
  Tape::active().refuse_replay("Embedding::forward(Tensor) (its ids converted from the tensor's values)");
  const Array& v = x.value();
  std::vector<int64_t> ids(static_cast<size_t>(v.numel()));
  for (int64_t i = 0; i < v.numel(); ++i) {
    const double id = v.at(i);
    if (!(id == std::floor(id)) || std::abs(id) > 9e15) raise<ValueError>("Embedding: id {} is not an integer", id);
    ids[static_cast<size_t>(i)] = static_cast<int64_t>(id);
  }
  return (*this)(ids, x.shape());
}

}  // namespace tapegrad::nn
