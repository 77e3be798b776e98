#pragma once
/// \file
/// C[m, n] = op(A) op(B) + beta C, row-major with leading dimensions, for float and double: the one
/// matrix product both the tape's kernels and the tape-free reference call (header only: the
/// reference links the BLAS, never the tape). A product with one row, one column or an inner
/// dimension of one goes to gemv / ger: OpenBLAS's gemm packs whole operands first, which at batch 1
/// costs more than the product itself.
///
/// Two libraries run the general float product, chosen at run time (float_gemm_library): oneDNN's
/// sgemm, which dispatches to AVX-512 where the CPU has it, and OpenBLAS's. On this project's Zen 5
/// machine (OpenBLAS held to its AVX2 kernels by OPENBLAS_CORETYPE=Haswell) oneDNN ran every product
/// of the MLP's and the CNN's steps in 0.4-0.6 of OpenBLAS's time (docs/benchmarks.md). Double
/// products stay on OpenBLAS: oneDNN has no dgemm.
///
/// oneDNN's AVX-512 sgemm kernel points the stack pointer into its heap workspace for inner
/// dimensions above 84: a signal handler run on a thread inside it corrupts the heap. Programs with
/// handlers block them in computing threads (docs/threads.md, "Signal handlers and oneDNN").
#include <cblas.h>
#include <dnnl.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <new>
#include <string_view>

#include "autodiff/error.hpp"

static_assert(DNNL_CPU_THREADING_RUNTIME == DNNL_RUNTIME_OMP, "blas.hpp sets oneDNN's threads through OpenMP");
// oneDNN's thread count is OpenMP's (Debian builds it on libgomp, linked by the build); declared here
// rather than through <omp.h>, which not every compiler here ships.
/// OpenMP's thread count for the calling thread's next parallel region (libgomp).
extern "C" int omp_get_max_threads() noexcept;
/// Sets OpenMP's thread count for the calling thread's next parallel regions (libgomp).
extern "C" void omp_set_num_threads(int) noexcept;

namespace tapegrad::blas {

/// The library that runs general float products.
enum class FloatGemm { openblas, onednn };

namespace detail {
inline CBLAS_TRANSPOSE op(bool transposed) { return transposed ? CblasTrans : CblasNoTrans; }

/// TAPEGRAD_SGEMM=openblas|onednn when set, else oneDNN where the CPU has AVX-512 (where it was
/// measured to pay), else OpenBLAS.
inline FloatGemm default_float_gemm() {
  if (const char* chosen = std::getenv("TAPEGRAD_SGEMM")) {
    const std::string_view name(chosen);
    if (name == "openblas") return FloatGemm::openblas;
    if (name == "onednn") return FloatGemm::onednn;
    raise<ValueError>("TAPEGRAD_SGEMM is '{}': expected openblas or onednn", name);
  }
  return __builtin_cpu_supports("avx512f") ? FloatGemm::onednn : FloatGemm::openblas;
}
inline std::atomic<FloatGemm>& float_gemm_choice() {
  static std::atomic<FloatGemm> choice{default_float_gemm()};
  return choice;
}

inline void gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k, const float* a, int lda, const float* b,
                 int ldb, float beta, float* c, int ldc) {
  if (float_gemm_choice().load(std::memory_order_relaxed) == FloatGemm::openblas || m == 0 || n == 0 || k == 0) {
    cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, 1.0f, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  const dnnl_status_t status = dnnl_sgemm(ta == CblasTrans ? 'T' : 'N', tb == CblasTrans ? 'T' : 'N', m, n, k, 1.0f, a,
                                          lda, b, ldb, beta, c, ldc);
  if (status == dnnl_out_of_memory) throw std::bad_alloc();
  if (status != dnnl_success)
    raise<Error>("oneDNN's sgemm failed (status {}) on a {} x {} by {} x {} product", int(status), m, k, k, n);
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

/// The library that runs general float products now.
inline FloatGemm float_gemm_library() { return detail::float_gemm_choice().load(std::memory_order_relaxed); }

/// Chooses the library for general float products from now on, for every thread (the tests run
/// both; a user can pin one). Double products always run on OpenBLAS.
inline void use_float_gemm_library(FloatGemm library) {
  detail::float_gemm_choice().store(library, std::memory_order_relaxed);
}

/// Sets the BLAS's thread count for a product of this many multiply-adds: one when it is small
/// (threads cost more than they give there), else max_threads. Measured on this project's 2-core
/// machine: OpenBLAS on 2 threads ran a 128x10x256 sgemm at 15 GFLOP/s against 47 on one (threads
/// from 4M multiply-adds); oneDNN's sgemm on 2 threads was slower than on one for every product
/// of the MLP's and CNN's steps up to 26M multiply-adds and even at 205M (threads from 32M). The
/// tape's kernels and the reference share the rule, so their products run alike. It sets
/// OpenBLAS's and oneDNN's (OpenMP's, for the calling thread) counts, asking each what it has
/// (cheap), so a caller that sets them itself is not second-guessed by a stale copy.
inline void use_threads_for(int64_t multiply_adds, int max_threads) {
  constexpr int64_t kThreadedOpenBlas = int64_t{1} << 22, kThreadedOneDnn = int64_t{1} << 25;
  const int openblas = multiply_adds < kThreadedOpenBlas ? 1 : max_threads;
  const int onednn = multiply_adds < kThreadedOneDnn ? 1 : max_threads;
  if (openblas_get_num_threads() != openblas) openblas_set_num_threads(openblas);
  if (omp_get_max_threads() != onednn) omp_set_num_threads(onednn);
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
  } else if (k == 1 && beta == T(1)) {  // c += a b^T, an outer product
    detail::ger(im, in, a, ta ? 1 : ia, b, tb ? ib : 1, c, ic);
  } else if (k == 1) {  // c = beta c + a b^T in one pass over c (ger would need a second)
    const int64_t inc_a = ta ? 1 : lda, inc_b = tb ? ldb : 1;
    for (int64_t i = 0; i < m; ++i) {
      const T ai = a[i * inc_a];
      T* row = c + i * ldc;
      if (beta == T(0))
        for (int64_t j = 0; j < n; ++j) row[j] = ai * b[j * inc_b];
      else
        for (int64_t j = 0; j < n; ++j) row[j] = beta * row[j] + ai * b[j * inc_b];
    }
  } else {
    detail::gemm(op(ta), op(tb), im, in, ik, a, ia, b, ib, beta, c, ic);
  }
}

}  // namespace tapegrad::blas
