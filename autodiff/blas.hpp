#pragma once
/// \file
/// C[m, n] = op(A) op(B) + beta C, row-major with leading dimensions, for float and double: the one
/// matrix product both the tape's kernels and the tape-free reference call (header only: the
/// reference links the BLAS, never the tape). A product with one row, one column or an inner
/// dimension of one goes to gemv / ger: OpenBLAS's gemm packs whole operands first, which at batch 1
/// costs more than the product itself.
#include <cblas.h>

#include <cstdint>
#include <limits>

#include "autodiff/error.hpp"

namespace tapegrad::blas {

namespace detail {
inline CBLAS_TRANSPOSE op(bool transposed) { return transposed ? CblasTrans : CblasNoTrans; }

inline void gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k, const float* a, int lda, const float* b,
                 int ldb, float beta, float* c, int ldc) {
  cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, 1.0f, a, lda, b, ldb, beta, c, ldc);
}
inline void gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k, const double* a, int lda, const double* b,
                 int ldb, double beta, double* c, int ldc) {
  cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, 1.0, a, lda, b, ldb, beta, c, ldc);
}
inline void gemv(CBLAS_TRANSPOSE t, int rows, int cols, const float* a, int lda, const float* x, int incx, float beta,
                 float* y, int incy) {
  cblas_sgemv(CblasRowMajor, t, rows, cols, 1.0f, a, lda, x, incx, beta, y, incy);
}
inline void gemv(CBLAS_TRANSPOSE t, int rows, int cols, const double* a, int lda, const double* x, int incx,
                 double beta, double* y, int incy) {
  cblas_dgemv(CblasRowMajor, t, rows, cols, 1.0, a, lda, x, incx, beta, y, incy);
}
inline void ger(int m, int n, const float* x, int incx, const float* y, int incy, float* a, int lda) {
  cblas_sger(CblasRowMajor, m, n, 1.0f, x, incx, y, incy, a, lda);
}
inline void ger(int m, int n, const double* x, int incx, const double* y, int incy, double* a, int lda) {
  cblas_dger(CblasRowMajor, m, n, 1.0, x, incx, y, incy, a, lda);
}
}  // namespace detail

/// Sets the BLAS's thread count for a product of this many multiply-adds: one when it is small
/// (threads cost more than they give there: OpenBLAS on 2 threads ran a 128x10x256 sgemm at 15
/// GFLOP/s against 47 on one), else max_threads. The tape's kernels and the reference share the rule,
/// so their products run alike. It asks the BLAS what it has (cheap), so a caller that sets the
/// BLAS's threads itself is not second-guessed by a stale copy.
inline void use_threads_for(int64_t multiply_adds, int max_threads) {
  constexpr int64_t kThreadedGemm = int64_t{1} << 22;
  const int n = multiply_adds < kThreadedGemm ? 1 : max_threads;
  if (openblas_get_num_threads() != n) openblas_set_num_threads(n);
}

/// op(A) is m x k (A stored k x m when ta), op(B) k x n (B stored n x k when tb). beta 0 means C is
/// not read, as in BLAS. Runs on at most max_threads BLAS threads (use_threads_for's rule).
template <class T>
void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const T* a, int64_t lda, const T* b, int64_t ldb, T beta,
          T* c, int64_t ldc, int max_threads) {
  using detail::op;
  for (const int64_t d : {m, n, k, lda, ldb, ldc})  // the BLAS takes int sizes
    if (d > std::numeric_limits<int>::max())
      raise<ShapeError>("matrix product of {} x {} by {} x {}: a dimension beyond the BLAS's limit of 2^31 - 1", m, k,
                        k, n);
  int64_t multiply_adds = 0;  // saturates: three int-sized factors can pass 2^63
  if (__builtin_mul_overflow(m * n, k, &multiply_adds)) multiply_adds = std::numeric_limits<int64_t>::max();
  use_threads_for(multiply_adds, max_threads);
  const int im = int(m), in = int(n), ik = int(k), ia = int(lda), ib = int(ldb), ic = int(ldc);
  if (m == 0 || n == 0 || k == 0) {
    detail::gemm(op(ta), op(tb), im, in, ik, a, ia, b, ib, beta, c, ic);
  } else if (m == 1) {  // c = op(B)^T a: a's k elements are a row, or a column of stride lda when ta
    const int inc_a = ta ? ia : 1;
    if (tb)
      detail::gemv(CblasNoTrans, in, ik, b, ib, a, inc_a, beta, c, 1);
    else
      detail::gemv(CblasTrans, ik, in, b, ib, a, inc_a, beta, c, 1);
  } else if (n == 1) {  // c (a column of stride ldc) = op(A) b
    const int inc_b = tb ? 1 : ib;
    if (ta)
      detail::gemv(CblasTrans, ik, im, a, ia, b, inc_b, beta, c, ic);
    else
      detail::gemv(CblasNoTrans, im, ik, a, ia, b, inc_b, beta, c, ic);
  } else if (k == 1) {  // c = beta c + a b^T, an outer product
    if (beta != T(1))
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = beta == T(0) ? T(0) : beta * c[i * ldc + j];
    detail::ger(im, in, a, ta ? 1 : ia, b, tb ? ib : 1, c, ic);
  } else {
    detail::gemm(op(ta), op(tb), im, in, ik, a, ia, b, ib, beta, c, ic);
  }
}

}  // namespace tapegrad::blas
