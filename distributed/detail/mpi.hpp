#pragma once
// Internal: MPI datatypes of tapegrad's dtypes, and MPI's int counts over 64-bit element counts.
#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstdint>

#include "autodiff/array.hpp"

namespace tapegrad::dist::detail {

inline MPI_Datatype mpi_type(DType dtype) { return dtype == DType::f32 ? MPI_FLOAT : MPI_DOUBLE; }
inline size_t dtype_bytes(DType dtype) { return dtype == DType::f32 ? 4 : 8; }

/// Calls f(offset, count) over [0, n) in pieces an MPI int count can hold.
template <class F>
void for_each_chunk(int64_t n, F&& f) {
  constexpr int64_t kMax = INT_MAX;
  for (int64_t offset = 0; offset < n; offset += kMax) f(offset, static_cast<int>(std::min(kMax, n - offset)));
}

/// Calls f(data, count, type) over an array's elements in pieces an MPI int count can hold.
template <class F>
void for_each_chunk(Array& a, F&& f) {
  for_each_chunk(a.numel(), [&](int64_t offset, int count) {
    f(a.data<char>() + static_cast<size_t>(offset) * dtype_bytes(a.dtype()), count, mpi_type(a.dtype()));
  });
}

}  // namespace tapegrad::dist::detail
