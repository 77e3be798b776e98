#include "autodiff/ops/shape_ops.hpp"

#include <algorithm>
#include <numeric>

#include "autodiff/detail/kernels.hpp"
#include "autodiff/op.hpp"

namespace tapegrad {

namespace {

/// dst[i] = src[o] (forward) or gsrc[o] += gdst[i] (backward) for the offsets o that `strides`
/// and `base` give to each element of `shape`: the one loop behind permute, slice and concat.
template <class T>
void copy_strided(const Shape& shape, const Strides& strides, int64_t base, const T* src, T* dst) {
  kernels::for_each_broadcast<1>(shape, {strides},
                                 [&](int64_t i, const std::array<int64_t, 1>& o) { dst[i] = src[base + o[0]]; });
}
template <class T>
void add_strided(const Shape& shape, const Strides& strides, int64_t base, const T* g, T* gsrc) {
  kernels::for_each_broadcast<1>(shape, {strides},
                                 [&](int64_t i, const std::array<int64_t, 1>& o) { gsrc[base + o[0]] += g[i]; });
}

/// Reads a view of x: element i of `shape` is x[base + offset(strides)]; gradients flow back.
Tensor strided_view(const char* name, const Tensor& x, const Shape& shape, const Strides& strides, int64_t base) {
  OpRecord op(name, {&x});
  Array& y = op.output(shape, op.in(0).dtype());
  op.forward([&x = op.in(0), &y, strides, base] {
    visit(y.dtype(), [&]<class T>(T) { copy_strided<T>(y.shape(), strides, base, x.data<T>(), y.data<T>()); });
  });
  return op.finish(
      [shape, strides, base](BackwardContext& c) {
        visit(c.output().dtype(), [&]<class T>(T) {
          add_strided<T>(shape, strides, base, c.grad_output().data<T>(), c.grad_input(0).template data<T>());
        });
      },
      [&](TangentContext& c) { return strided_view(name, c.tangent(0), shape, strides, base); });  // the same view
}

/// Copies the caller's index list into the op's own copy and checks each index against axis `a`
/// of `in`: at recording, and again at every replay (the list is a static buffer, re-read).
void take_index(const char* op, const int64_t* source, int64_t* idx, int64_t n, int a, const Shape& in) {
  std::copy(source, source + n, idx);
  for (int64_t i = 0; i < n; ++i)
    if (idx[i] < 0 || idx[i] >= in[a])
      raise<ValueError>("{}: index {} is out of range for axis {} of size {} (shape {})", op, idx[i], a, in[a], in);
}

int64_t resolve_index(const char* op, int64_t i, int64_t size, bool allow_end) {
  const int64_t r = i < 0 ? i + size : i;
  if (r < 0 || r > size || (!allow_end && r == size))
    raise<ValueError>("{}: index {} is out of range for a dimension of size {}", op, i, size);
  return r;
}

}  // namespace

Tensor reshape(const Tensor& x, std::span<const int64_t> dims) {
  const Shape& in = x.shape();
  std::array<int64_t, kMaxRank> d{};
  if (dims.size() > static_cast<size_t>(kMaxRank))
    raise<ShapeError>("reshape: rank {} exceeds the maximum of {}", dims.size(), kMaxRank);
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] == -1) {
      if (infer >= 0) raise<ShapeError>("reshape: only one dimension can be -1, got [{}]", fmt::join(dims, ", "));
      infer = static_cast<int>(i);
    } else if (dims[i] < 0) {
      raise<ShapeError>("reshape: invalid dimension {} in [{}]", dims[i], fmt::join(dims, ", "));
    } else if (__builtin_mul_overflow(known, dims[i], &known) || known > kMaxElements) {
      raise<ShapeError>("reshape: [{}] has more than 2^62 elements", fmt::join(dims, ", "));
    }
    d[i] = dims[i];
  }
  if (infer >= 0) d[static_cast<size_t>(infer)] = known == 0 ? 0 : in.numel() / known;
  const Shape out(std::span<const int64_t>(d.data(), dims.size()));
  if (out.numel() != in.numel())
    raise<ShapeError>("reshape: cannot reshape {} ({} elements) to [{}] ({} elements)", in, in.numel(),
                      fmt::join(dims, ", "), out.numel());
  return strided_view("reshape", x, out, contiguous_strides(out), 0);
}

Tensor unsqueeze(const Tensor& x, int axis) {
  const Shape& in = x.shape();
  const int a = normalize_axis("unsqueeze", axis, in.rank() + 1);
  if (in.rank() == kMaxRank) raise<ShapeError>("unsqueeze: {} already has the most dimensions, {}", in, kMaxRank);
  int64_t dims[kMaxRank];  // no heap: a warm step allocates nothing
  std::copy(in.begin(), in.begin() + a, dims);
  dims[a] = 1;
  std::copy(in.begin() + a, in.end(), dims + a + 1);
  return reshape(x, std::span<const int64_t>(dims, static_cast<size_t>(in.rank() + 1)));
}

Tensor permute(const Tensor& x, std::span<const int> perm) {
  const Shape& in = x.shape();
  if (static_cast<int>(perm.size()) != in.rank())
    raise<ShapeError>("permute: {} axes given for a tensor of shape {}", perm.size(), in);
  const Strides own = contiguous_strides(in);
  Shape out = in;
  Strides st{};
  std::array<bool, kMaxRank> seen{};
  for (size_t i = 0; i < perm.size(); ++i) {
    const int p = normalize_axis("permute", perm[i], in.rank());
    if (seen[static_cast<size_t>(p)]) raise<ShapeError>("permute: axis {} repeated in the permutation", perm[i]);
    seen[static_cast<size_t>(p)] = true;
    out[static_cast<int>(i)] = in[p];
    st[i] = own[static_cast<size_t>(p)];
  }
  return strided_view("permute", x, out, st, 0);
}

Tensor transpose(const Tensor& x, int axis0, int axis1) {
  const int r = x.rank();
  std::array<int, kMaxRank> perm{};
  std::iota(perm.begin(), perm.begin() + r, 0);
  std::swap(perm[static_cast<size_t>(normalize_axis("transpose", axis0, r))],
            perm[static_cast<size_t>(normalize_axis("transpose", axis1, r))]);
  return permute(x, std::span<const int>(perm.data(), static_cast<size_t>(r)));
}

Tensor slice(const Tensor& x, int axis, int64_t start, int64_t end) {
  const Shape& in = x.shape();
  const int a = normalize_axis("slice", axis, in.rank());
  const int64_t s = resolve_index("slice", start, in[a], true), e = resolve_index("slice", end, in[a], true);
  if (e < s) raise<ValueError>("slice: end {} is before start {} on axis {} of shape {}", end, start, axis, in);
  Shape out = in;
  out[a] = e - s;
  const Strides own = contiguous_strides(in);
  return strided_view("slice", x, out, own, s * own[static_cast<size_t>(a)]);
}

Tensor concat(std::span<const Tensor> xs, int axis) {
  if (xs.empty()) raise<ValueError>("concat: needs at least one tensor");
  const Shape& first = xs[0].shape();
  const int a = normalize_axis("concat", axis, first.rank());
  Shape out = first;
  out[a] = 0;
  for (const Tensor& t : xs) {
    const Shape& s = t.shape();
    bool ok = s.rank() == first.rank();
    for (int i = 0; ok && i < s.rank(); ++i) ok = i == a || s[i] == first[i];
    if (!ok) raise<ShapeError>("concat: shapes differ off axis {}, got {} and {}", axis, first, s);
    out[a] += s[a];
  }
  OpRecord op("concat", xs);
  Array& y = op.output(out, op.in(0).dtype());
  const Strides ost = contiguous_strides(out);
  const int64_t axis_stride = ost[static_cast<size_t>(a)];
  const Array** ins = op.save_for_backward<const Array*>(xs.size());
  for (size_t k = 0; k < xs.size(); ++k) ins[k] = &op.in(k);
  op.forward([ins, count = xs.size(), &y, a, ost, axis_stride] {
    visit(y.dtype(), [&]<class T>(T) {
      int64_t offset = 0;
      for (size_t k = 0; k < count; ++k) {  // scatter input k into its band of the output
        const Array& in = *ins[k];
        const T* src = in.data<T>();
        T* dst = y.data<T>() + offset * axis_stride;
        kernels::for_each_broadcast<1>(in.shape(), {ost},
                                       [&](int64_t i, const std::array<int64_t, 1>& o) { dst[o[0]] = src[i]; });
        offset += in.shape()[a];
      }
    });
  });
  return op.finish(
      [a, ost, axis_stride](BackwardContext& c) {
        visit(c.output().dtype(), [&]<class T>(T) {
          int64_t offset = 0;
          for (size_t k = 0; k < c.num_inputs(); ++k) {
            const Shape& s = c.input(k).shape();
            if (c.needs_grad(k)) {  // input k's gradient is its band of the output gradient
              Array& g = c.scratch(s, c.output().dtype());
              copy_strided<T>(s, ost, offset * axis_stride, c.grad_output().data<T>(), g.template data<T>());
              c.accumulate(k, g);
            }
            offset += s[a];
          }
        });
      },
      [a](TangentContext& c) {  // the tangents side by side, zeros for an input without one
        std::vector<Tensor> parts;
        for (size_t k = 0; k < c.num_inputs(); ++k)
          parts.push_back(c.has_tangent(k) ? c.tangent(k) : Tensor::zeros(c.input(k).shape(), c.output().dtype()));
        return concat(parts, a);
      });
}

Tensor stack(std::span<const Tensor> xs, int axis) {
  if (xs.empty()) raise<ValueError>("stack: needs at least one tensor");
  const Shape& in = xs[0].shape();
  const int a = normalize_axis("stack", axis, in.rank() + 1);
  for (const Tensor& t : xs)
    if (!(t.shape() == in)) raise<ShapeError>("stack: all tensors need the same shape, got {} and {}", in, t.shape());
  if (a < in.rank()) {  // concat along a, then split that axis into (count, size): no per-tensor copies
    if (in.rank() == kMaxRank) raise<ShapeError>("stack: {} already has the most dimensions, {}", in, kMaxRank);
    int64_t dims[kMaxRank];
    std::copy(in.begin(), in.begin() + a, dims);
    dims[a] = static_cast<int64_t>(xs.size());
    std::copy(in.begin() + a, in.end(), dims + a + 1);
    return reshape(concat(xs, a), std::span<const int64_t>(dims, static_cast<size_t>(in.rank() + 1)));
  }
  std::vector<Tensor> expanded;  // a new last axis: each tensor gets a trailing 1
  expanded.reserve(xs.size());
  for (const Tensor& t : xs) expanded.push_back(unsqueeze(t, a));
  return concat(expanded, a);
}

Tensor index_select(const Tensor& x, int axis, std::span<const int64_t> index) {
  const Shape& in = x.shape();
  const int a = normalize_axis("index_select", axis, in.rank());
  Shape out = in;
  out[a] = static_cast<int64_t>(index.size());
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < a; ++i) outer *= in[i];
  for (int i = a + 1; i < in.rank(); ++i) inner *= in[i];
  const int64_t n = out[a], size = in[a];
  OpRecord op("index_select", {&x});
  Array& y = op.output(out, op.in(0).dtype());
  int64_t* idx = op.save_for_backward<int64_t>(index.size());
  op.forward([&x = op.in(0), &y, source = index.data(), idx, outer, inner, n, size, a, in] {
    take_index("index_select", source, idx, n, a, in);
    visit(y.dtype(), [&]<class T>(T) {
      const T* px = x.data<T>();
      T* py = y.data<T>();
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t j = 0; j < n; ++j)
          for (int64_t r = 0; r < inner; ++r) py[(o * n + j) * inner + r] = px[(o * size + idx[j]) * inner + r];
    });
  });
  return op.finish(
      [idx, outer, inner, n, size](BackwardContext& c) {  // scatter-add back
        visit(c.output().dtype(), [&]<class T>(T) {
          const T* pg = c.grad_output().data<T>();
          T* gx = c.grad_input(0).template data<T>();
          for (int64_t o = 0; o < outer; ++o)
            for (int64_t j = 0; j < n; ++j)
              for (int64_t r = 0; r < inner; ++r) gx[(o * size + idx[j]) * inner + r] += pg[(o * n + j) * inner + r];
        });
      },
      [&](TangentContext& c) { return index_select(c.tangent(0), axis, index); });
}

Tensor gather(const Tensor& x, int axis, std::span<const int64_t> index, const Shape& index_shape) {
  const Shape& in = x.shape();
  const int a = normalize_axis("gather", axis, in.rank());
  if (index_shape.rank() != in.rank())
    raise<ShapeError>("gather: index must have the input's rank, got input {} and index {}", in, index_shape);
  if (static_cast<int64_t>(index.size()) != index_shape.numel())
    raise<ShapeError>("gather: {} indices given for index shape {}", index.size(), index_shape);
  for (int i = 0; i < in.rank(); ++i)
    if (i != a && index_shape[i] > in[i])
      raise<ShapeError>("gather: index shape {} exceeds input shape {} off axis {}", index_shape, in, axis);
  Strides st = contiguous_strides(in);
  const int64_t axis_stride = st[static_cast<size_t>(a)];
  st[static_cast<size_t>(a)] = 0;  // the axis position comes from the index instead
  OpRecord op("gather", {&x});
  Array& y = op.output(index_shape, op.in(0).dtype());
  int64_t* idx = op.save_for_backward<int64_t>(index.size());
  op.forward([&x = op.in(0), &y, source = index.data(), idx, st, axis_stride, a, in] {
    take_index("gather", source, idx, y.numel(), a, in);
    visit(y.dtype(), [&]<class T>(T) {
      const T* px = x.data<T>();
      T* py = y.data<T>();
      kernels::for_each_broadcast<1>(y.shape(), {st}, [&](int64_t i, const std::array<int64_t, 1>& o) {
        py[i] = px[o[0] + idx[i] * axis_stride];
      });
    });
  });
  return op.finish(
      [idx, st, axis_stride, index_shape](BackwardContext& c) {
        visit(c.output().dtype(), [&]<class T>(T) {
          const T* pg = c.grad_output().data<T>();
          T* gx = c.grad_input(0).template data<T>();
          kernels::for_each_broadcast<1>(index_shape, {st}, [&](int64_t i, const std::array<int64_t, 1>& o) {
            gx[o[0] + idx[i] * axis_stride] += pg[i];
          });
        });
      },
      [&](TangentContext& c) { return gather(c.tangent(0), axis, index, index_shape); });
}

}  // namespace tapegrad
