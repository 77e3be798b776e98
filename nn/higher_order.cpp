#include "nn/higher_order.hpp"

namespace tapegrad::nn {

std::vector<Array> hvp(Module& model, const std::function<Tensor()>& loss, std::span<const Array> directions) {
  const std::vector<Tensor> params = model.parameters();
  std::vector<Tensor> buffers = model.buffers();
  std::vector<Array> saved;  // a training-mode forward moves running statistics: put them back
  for (const Tensor& b : buffers) saved.push_back(b.value());
  const auto restore = [&] {
    for (size_t i = 0; i < buffers.size(); ++i) buffers[i].mutable_value().assign(saved[i]);
  };
  try {
    std::vector<Array> hv = tapegrad::hvp(params, loss, directions);
    restore();
    return hv;
  } catch (...) {
    restore();
    throw;
  }
}

}  // namespace tapegrad::nn
