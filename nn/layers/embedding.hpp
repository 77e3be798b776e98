#pragma once
/// \file
/// Embedding: a lookup table of rows (PyTorch's layer; weight [num_embeddings, embedding_dim]
/// ~ N(0, 1) from the caller's generator). Its gradient adds each looked-up row's gradient back
/// into the row, repeats included.
#include <random>
#include <span>

#include "nn/layers/module.hpp"

namespace tapegrad::nn {

/// y[..., :] = weight[id, :] for each id.
class Embedding : public Module {
 public:
  /// ValueError for a non-positive size.
  Embedding(int64_t num_embeddings, int64_t embedding_dim, std::mt19937_64& rng);
  using Module::operator();
  /// The rows of `ids` (row-major, `shape` giving their layout): [shape..., embedding_dim].
  /// ValueError naming the id and the table size for an id out of range; ShapeError unless
  /// shape's element count is ids.size().
  Tensor operator()(std::span<const int64_t> ids, const Shape& shape);
  /// x holds integral ids (any float dtype): [x.shape..., embedding_dim].
  Tensor forward(const Tensor& x) override;

  Tensor weight;  ///< [num_embeddings, embedding_dim]
};

}  // namespace tapegrad::nn
