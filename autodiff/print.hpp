#pragma once
/// \file
/// Printing arrays, tensors and scalars the way PyTorch does:
///
///   fmt::print("{}\n", t);   // tensor([[ 0.1000, -2.5000],
///                            //         [ 3.0000,  4.0000]], dtype=float32, requires_grad=true)
///
/// All elements of one array share a format: integers print as "3.", moderate values in fixed point,
/// values spanning more than three decades (or tiny or huge ones) in scientific notation. Arrays with
/// more than `threshold` elements are summarised: each long dimension shows its first and last
/// `edge_items` entries around "...". A Var formats as its value and takes a double's format spec
/// (`fmt::format("{:.3f}", x * y)`).
#include <fmt/format.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "autodiff/array.hpp"
#include "autodiff/tensor.hpp"
#include "autodiff/var.hpp"

namespace tapegrad {

/// How to_string and format_values lay out values (NumPy's printoptions).
struct PrintOptions {
  int precision = 4;         ///< digits after the point
  int64_t threshold = 1000;  ///< more elements than this: summarise
  int64_t edge_items = 3;    ///< entries kept at each end of a summarised dimension
  int line_width = 80;       ///< the innermost dimension wraps before this column
};

/// The body of the printout, "[[1., 2.],\n [3., 4.]]", each continuation line indented by `indent`.
std::string format_values(const Array& values, const PrintOptions& options = {}, int indent = 0);

/// "array([...])" / "tensor([...])" with ", dtype=float32" for non-default dtypes (and
/// ", requires_grad=true" for tensors that require gradients).
std::string to_string(const Array& array, const PrintOptions& options = {});
/// The same for a tensor's value.
std::string to_string(const Tensor& tensor, const PrintOptions& options = {});

}  // namespace tapegrad

// fmt::formatter specialisations, so `fmt::print("{}", x)` prints as to_string / str does (left out
// of the API reference: Doxygen cannot place a specialisation of a namespace it does not see).
/// \cond
template <>
struct fmt::formatter<tapegrad::Array> : fmt::formatter<std::string_view> {
  auto format(const tapegrad::Array& a, format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(tapegrad::to_string(a), ctx);
  }
};

template <>
struct fmt::formatter<tapegrad::Tensor> : fmt::formatter<std::string_view> {
  auto format(const tapegrad::Tensor& t, format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(tapegrad::to_string(t), ctx);
  }
};

/// A Var, or an unevaluated scalar expression such as `x * 2`, prints its value.
template <class E>
requires tapegrad::Expression<E>
struct fmt::formatter<E> : fmt::formatter<double> {
  auto format(const E& x, format_context& ctx) const { return fmt::formatter<double>::format(x.value(), ctx); }
};
/// \endcond
