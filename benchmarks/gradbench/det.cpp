// GradBench's det eval: the determinant of an ell x ell matrix by expansion in minors along the
// first row (cmpad's det_of_minor, the eval's definition: ell! products, no pivoting; here down to
// 2 x 2 minors, ad - bc), and its gradient, by the scalar tape. One template serves both: T = double
// is the primal, T = Var records every product and sum of the expansion (a 2 x 2 minor as one
// statement), and one sweep gives d det / dA, the cofactor matrix.
#include <cstdint>
#include <vector>

#include "autodiff/autodiff.hpp"
#include "tool.hpp"
#ifdef TAPEGRAD_GRADBENCH_CHECKOUT  // its primal is the one timed (tool.hpp)
#include "gradbench/evals/det.hpp"
#endif

namespace {

using gradbench_tool::json;

struct Input {
  std::vector<double> a;  // row-major ell x ell
  size_t ell;
  explicit Input(const json& in) : a(in.at("A").get<std::vector<double>>()), ell(in.at("ell").get<size_t>()) {
    if (ell < 1 || ell > 16 || a.size() != ell * ell)
      throw std::invalid_argument("det: A must hold ell x ell values, 1 <= ell <= 16 (ell! products)");
  }
};

// The rows and columns of the current minor, as linked lists: next_row[i] is the row after row i,
// next_row[ell] the minor's first row (likewise columns). Removing a row or column relinks one
// entry, so the expansion moves no matrix data.
struct Minor {
  std::vector<size_t> next_row, next_col;
  explicit Minor(size_t ell) : next_row(ell + 1), next_col(ell + 1) {
    for (size_t i = 0; i <= ell; ++i) next_row[i] = next_col[i] = (i + 1) % (ell + 1);
  }
};

// det of the m x m minor of the ell x ell matrix a that `minor` lists: sum_j (-1)^j M_0j det(S_j),
// S_j the minor without its first row and column j.
template <class T>
T det_of_minor(const T* a, size_t ell, size_t m, Minor& minor) {
  const size_t row = minor.next_row[ell];
  size_t col = minor.next_col[ell];
  if (m == 1) return a[row * ell + col];
  if (m == 2) {  // the 2 x 2 minor's determinant, one expression (one statement on the tape)
    const size_t col2 = minor.next_col[col], row2 = minor.next_row[row];
    return T(a[row * ell + col] * a[row2 * ell + col2] - a[row * ell + col2] * a[row2 * ell + col]);
  }
  minor.next_row[ell] = minor.next_row[row];  // drop the first row for every sub-minor
  T det{};
  size_t before = ell;  // the column listed before col
  for (size_t j = 0; j < m; ++j) {
    minor.next_col[before] = minor.next_col[col];  // drop column col
    const T sub = det_of_minor(a, ell, m - 1, minor);
    minor.next_col[before] = col;
    if (j == 0)
      det = a[row * ell + col] * sub;
    else if (j % 2 == 0)
      det = det + a[row * ell + col] * sub;
    else
      det = det - a[row * ell + col] * sub;
    before = col;
    col = minor.next_col[col];
  }
  minor.next_row[ell] = row;
  return det;
}

struct Primal : Input {
  using Output = double;
  using Input::Input;
  void compute(double& det) const {
    Minor minor(ell);
    det = det_of_minor(a.data(), ell, ell, minor);
  }
};

struct Gradient : Input {  // on a tape kept warm across runs: its buffers are reused
  using Output = std::vector<double>;
  tapegrad::Tape tape;
  std::vector<tapegrad::Var> leaves;
  using Input::Input;
  void compute(std::vector<double>& gradient) {
    tape.clear();
    leaves.assign(a.begin(), a.end());  // each element a leaf of this recording
    Minor minor(ell);
    det_of_minor(leaves.data(), ell, ell, minor).backward();
    gradient.resize(leaves.size());
    for (size_t i = 0; i < leaves.size(); ++i) gradient[i] = leaves[i].grad();
  }
};

}  // namespace

int main(int argc, char** argv) {
  return gradbench_tool::tool_main(argc, argv,
                                   {{"primal", gradbench_tool::run<Primal, TAPEGRAD_CHECKOUTS(det::Primal)>},
                                    {"gradient", gradbench_tool::run<Gradient>}});
}
