// blas::gemm, the matrix product the tape and the references share: every shape it sends to gemv or
// ger (one row, one column, inner dimension one) and the general case, both transposes, beta 0 / 1 /
// 0.5, padded leading dimensions, against a plain triple loop, with float products on each of the two
// libraries that can run them (OpenBLAS, oneDNN); the rule that picks one; and the thread rule.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <random>
#include <string_view>
#include <vector>

#include "autodiff/blas.hpp"

namespace {

template <class T>
void check_gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T beta) {
  std::mt19937_64 rng(uint64_t(m * 100 + n * 10 + k));
  std::normal_distribution<double> normal;
  constexpr int64_t pad = 3;  // every leading dimension is longer than its row
  const int64_t a_rows = ta ? k : m, a_cols = ta ? m : k, b_rows = tb ? n : k, b_cols = tb ? k : n;
  const int64_t lda = a_cols + pad, ldb = b_cols + pad, ldc = n + pad;
  std::vector<T> a(size_t(a_rows * lda)), b(size_t(b_rows * ldb)), c(size_t(m * ldc));
  for (T& v : a) v = T(normal(rng));
  for (T& v : b) v = T(normal(rng));
  // beta 0: C must not be read (NaN in it must not leak out)
  for (T& v : c) v = beta == T(0) ? std::numeric_limits<T>::quiet_NaN() : T(normal(rng));
  const std::vector<T> c0 = c;
  tapegrad::blas::gemm(ta, tb, m, n, k, a.data(), lda, b.data(), ldb, beta, c.data(), ldc, 1);
  const double tol = std::is_same_v<T, float> ? 1e-4 : 1e-12;
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double want = beta == T(0) ? 0.0 : double(beta) * double(c0[size_t(i * ldc + j)]);
      for (int64_t p = 0; p < k; ++p) {
        const double aip = a[size_t(ta ? p * lda + i : i * lda + p)];
        const double bpj = b[size_t(tb ? j * ldb + p : p * ldb + j)];
        want += aip * bpj;
      }
      INFO("ta ", ta, " tb ", tb, " m ", m, " n ", n, " k ", k, " beta ", double(beta), " at ", i, ",", j);
      REQUIRE(std::abs(double(c[size_t(i * ldc + j)]) - want) <= tol * (1 + std::abs(want)));
    }
    for (int64_t j = n; j < ldc; ++j) {  // the padding is left as it was
      const double before = c0[size_t(i * ldc + j)], after = c[size_t(i * ldc + j)];
      REQUIRE((after == before || (std::isnan(after) && std::isnan(before))));
    }
  }
}

template <class T>
void check_all_shapes() {
  const int64_t shapes[][3] = {{1, 5, 7}, {5, 1, 7}, {5, 7, 1}, {1, 1, 7}, {1, 5, 1},
                               {5, 1, 1}, {1, 1, 1}, {4, 5, 6}, {3, 4, 0}};
  for (const auto& s : shapes)
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        for (T beta : {T(0), T(1), T(0.5)}) check_gemm<T>(ta, tb, s[0], s[1], s[2], beta);
}

}  // namespace

TEST_CASE("blas::gemm: gemv and ger shapes and the general case equal the triple loop, float and double") {
  using tapegrad::blas::FloatGemm;
  const FloatGemm chosen = tapegrad::blas::float_gemm_library();
  check_all_shapes<double>();
  for (const FloatGemm library : {FloatGemm::openblas, FloatGemm::onednn}) {
    INFO("float products on ", library == FloatGemm::onednn ? "oneDNN" : "OpenBLAS");
    tapegrad::blas::use_float_gemm_library(library);
    check_all_shapes<float>();
    check_gemm<float>(false, true, 37, 70, 129, 0.5f);  // past one register block of either library
    check_gemm<float>(true, false, 70, 37, 129, 1.0f);
  }
  tapegrad::blas::use_float_gemm_library(chosen);
}

TEST_CASE(
    "blas: float products run on oneDNN where the CPU has AVX-512, else on OpenBLAS, unless TAPEGRAD_SGEMM says") {
  using tapegrad::blas::FloatGemm;
  const char* pinned = std::getenv("TAPEGRAD_SGEMM");
  const FloatGemm want = pinned != nullptr
                             ? (std::string_view(pinned) == "onednn" ? FloatGemm::onednn : FloatGemm::openblas)
                         : __builtin_cpu_supports("avx512f") ? FloatGemm::onednn
                                                             : FloatGemm::openblas;
  CHECK(tapegrad::blas::detail::default_float_gemm() == want);
}

TEST_CASE("blas::gemm refuses a dimension beyond the BLAS's int") {
  float a = 1, b = 1, c = 0;
  const int64_t huge = int64_t{1} << 31;
  CHECK_THROWS_AS(tapegrad::blas::gemm(false, false, huge, 1, 1, &a, 1, &b, 1, 0.0f, &c, 1, 1), tapegrad::ShapeError);
  CHECK_THROWS_AS(tapegrad::blas::gemm(false, false, 1, 1, huge, &a, huge, &b, 1, 0.0f, &c, 1, 1),
                  tapegrad::ShapeError);
}

TEST_CASE("blas::use_threads_for: one thread for small products, the cap for large ones, whatever was set before") {
  const int procs = openblas_get_num_procs();
  tapegrad::blas::use_threads_for(int64_t{1} << 10, procs);
  CHECK(openblas_get_num_threads() == 1);
  tapegrad::blas::use_threads_for(int64_t{1} << 24, procs);
  CHECK(openblas_get_num_threads() == procs);
  openblas_set_num_threads(1);  // someone else changed it: the rule still holds
  tapegrad::blas::use_threads_for(int64_t{1} << 24, procs);
  CHECK(openblas_get_num_threads() == procs);
  CHECK(omp_get_max_threads() == 1);  // oneDNN's threads start later (32M multiply-adds)
  tapegrad::blas::use_threads_for(int64_t{1} << 26, procs);
  CHECK(omp_get_max_threads() == procs);
  CHECK(openblas_get_num_threads() == procs);
  tapegrad::blas::use_threads_for(int64_t{1} << 10, procs);
  CHECK(omp_get_max_threads() == 1);
  tapegrad::blas::use_threads_for(int64_t{1} << 24, procs);
  float a = 1, b = 1, c = 0;  // blas::gemm applies the rule itself
  tapegrad::blas::gemm(false, false, 1, 1, 1, &a, 1, &b, 1, 0.0f, &c, 1, procs);
  CHECK(openblas_get_num_threads() == 1);
}
