#include "autodiff/print.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace tapegrad {
namespace {

// One format for every element of an array, chosen from the elements that are shown.
struct ElementFormat {
  enum class Kind { integer, fixed, scientific } kind = Kind::fixed;
  int precision = 4;
  size_t width = 0;

  std::string bare(double v) const {
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    switch (kind) {
      case Kind::integer: return fmt::format("{:.0f}.", v);
      case Kind::scientific: return fmt::format("{:.{}e}", v, precision);
      case Kind::fixed: break;
    }
    return fmt::format("{:.{}f}", v, precision);
  }
  std::string operator()(double v) const { return fmt::format("{:>{}}", bare(v), width); }
};

class Printer {
 public:
  Printer(const Array& values, const PrintOptions& options, int indent)
      : values_(values), options_(options), indent_(indent) {
    const Shape& shape = values.shape();
    summarise_ = values.numel() > options.threshold;
    strides_.assign(static_cast<size_t>(shape.rank()), 1);
    for (int d = shape.rank() - 2; d >= 0; --d) strides_[d] = strides_[d + 1] * shape[d + 1];
    choose_format();
  }

  std::string run() {
    std::string out;
    if (values_.rank() == 0) return format_.bare(values_.item());
    print(0, 0, out);
    return out;
  }

 private:
  static constexpr int64_t kGap = -1;

  // The indices of dimension `dim` that are printed, kGap where "..." stands for the rest.
  std::vector<int64_t> shown(int dim) const {
    const int64_t n = values_.shape()[dim];
    std::vector<int64_t> indices;
    if (!summarise_ || n <= 2 * options_.edge_items) {
      for (int64_t i = 0; i < n; ++i) indices.push_back(i);
      return indices;
    }
    for (int64_t i = 0; i < options_.edge_items; ++i) indices.push_back(i);
    indices.push_back(kGap);
    for (int64_t i = n - options_.edge_items; i < n; ++i) indices.push_back(i);
    return indices;
  }

  void for_each_shown(int dim, int64_t offset, std::vector<double>& out) const {
    for (int64_t i : shown(dim)) {
      if (i == kGap) continue;
      const int64_t at = offset + i * strides_[dim];
      if (dim + 1 == values_.rank()) {
        out.push_back(values_.at(at));
      } else {
        for_each_shown(dim + 1, at, out);
      }
    }
  }

  void choose_format() {
    std::vector<double> elements;
    if (values_.rank() == 0) {
      elements.push_back(values_.item());
    } else {
      for_each_shown(0, 0, elements);
    }
    format_.precision = options_.precision;
    bool all_integers = true;
    double max_abs = 0, min_abs = INFINITY;
    for (double v : elements) {
      if (!std::isfinite(v)) continue;
      all_integers = all_integers && v == std::nearbyint(v);
      max_abs = std::max(max_abs, std::abs(v));
      if (v != 0) min_abs = std::min(min_abs, std::abs(v));
    }
    using Kind = ElementFormat::Kind;
    if (all_integers && max_abs < 1e8) {
      format_.kind = Kind::integer;
    } else if (max_abs > 1e8 || (min_abs != INFINITY && (min_abs < 1e-4 || max_abs / min_abs > 1e3))) {
      format_.kind = Kind::scientific;
    }
    for (double v : elements) format_.width = std::max(format_.width, format_.bare(v).size());
  }

  void newline(std::string& out, int dim) const {
    out += '\n';
    out.append(static_cast<size_t>(indent_ + dim + 1), ' ');
  }

  void print(int dim, int64_t offset, std::string& out) const {
    out += '[';
    const bool innermost = dim + 1 == values_.rank();
    size_t column = static_cast<size_t>(indent_ + dim + 1);
    bool first = true;
    for (int64_t i : shown(dim)) {
      if (innermost) {
        const std::string item = i == kGap ? std::string(" ...") : format_(values_.at(offset + i));
        if (!first) {
          out += ',';
          if (column + 2 + item.size() + 1 > static_cast<size_t>(options_.line_width)) {
            newline(out, dim);
            column = static_cast<size_t>(indent_ + dim + 1);
          } else {
            out += ' ';
            column += 2;
          }
        }
        out += item;
        column += item.size();
      } else {
        if (!first) {
          out += ',';
          for (int blank = dim + 2; blank < values_.rank(); ++blank) out += '\n';
          newline(out, dim);
        }
        if (i == kGap) {
          out += "...";
        } else {
          print(dim + 1, offset + i * strides_[dim], out);
        }
      }
      first = false;
    }
    out += ']';
  }

  const Array& values_;
  const PrintOptions& options_;
  int indent_;
  bool summarise_ = false;
  std::vector<int64_t> strides_;
  ElementFormat format_;
};

std::string wrapped(std::string_view name, const Array& values, const PrintOptions& options, std::string_view extra) {
  std::string out = fmt::format("{}(", name);
  out += format_values(values, options, static_cast<int>(out.size()));
  if (values.dtype() != DType::f64) out += fmt::format(", dtype={}", dtype_name(values.dtype()));
  out += extra;
  out += ')';
  return out;
}

}  // namespace

std::string format_values(const Array& values, const PrintOptions& options, int indent) {
  return Printer(values, options, indent).run();
}

std::string to_string(const Array& array, const PrintOptions& options) { return wrapped("array", array, options, ""); }

std::string to_string(const Tensor& tensor, const PrintOptions& options) {
  if (!tensor.defined()) return "tensor(undefined)";
  return wrapped("tensor", tensor.value(), options, tensor.requires_grad() ? ", requires_grad=true" : "");
}

}  // namespace tapegrad
