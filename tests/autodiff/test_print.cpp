#include <doctest/doctest.h>

#include <cmath>
#include <numeric>

#include "autodiff/autodiff.hpp"

using namespace tapegrad;

// Expected strings are written out by hand in PyTorch's layout.
TEST_CASE("print: matrices align their columns, fixed point with four digits") {
  const Array a(Shape{2, 2}, {0.1, -2.5, 3.0, 4.0});
  CHECK(fmt::format("{}", a) ==
        "array([[ 0.1000, -2.5000],\n"
        "       [ 3.0000,  4.0000]])");
  Tensor t(Array(Shape{2, 2}, {0.1, -2.5, 3.0, 4.0}, DType::f32), true);
  CHECK(fmt::format("{}", t) ==
        "tensor([[ 0.1000, -2.5000],\n"
        "        [ 3.0000,  4.0000]], dtype=float32, requires_grad=true)");
}

TEST_CASE("print: integers, scalars, scientific notation, nan and inf") {
  CHECK(fmt::format("{}", Array(Shape{3}, {1, 2, -3})) == "array([ 1.,  2., -3.])");
  CHECK(fmt::format("{}", Tensor(Array::scalar(1.5))) == "tensor(1.5000)");
  CHECK(fmt::format("{}", Array(Shape{2}, {1e-5, 1.0})) == "array([1.0000e-05, 1.0000e+00])");
  CHECK(fmt::format("{}", Array(Shape{2}, {1e9, 2})) == "array([1.0000e+09, 2.0000e+00])");
  CHECK(fmt::format("{}", Array(Shape{3}, {NAN, INFINITY, 0.5})) == "array([   nan,    inf, 0.5000])");
  CHECK(fmt::format("{}", Array(Shape{0})) == "array([])");
}

TEST_CASE("print: a third dimension separates its blocks with a blank line") {
  CHECK(fmt::format("{}", Array(Shape{2, 1, 2})) ==
        "array([[[0., 0.]],\n"
        "\n"
        "       [[0., 0.]]])");
}

TEST_CASE("print: large arrays are summarised, long rows wrap") {
  std::vector<double> v(2000);
  std::iota(v.begin(), v.end(), 0.0);
  CHECK(fmt::format("{}", Array(Shape{2000}, v)) == "array([   0.,    1.,    2.,  ..., 1997., 1998., 1999.])");
  CHECK(fmt::format("{}", Array(Shape{100, 20}, v)) ==
        "array([[   0.,    1.,    2.,  ...,   17.,   18.,   19.],\n"
        "       [  20.,   21.,   22.,  ...,   37.,   38.,   39.],\n"
        "       [  40.,   41.,   42.,  ...,   57.,   58.,   59.],\n"
        "       ...,\n"
        "       [1940., 1941., 1942.,  ..., 1957., 1958., 1959.],\n"
        "       [1960., 1961., 1962.,  ..., 1977., 1978., 1979.],\n"
        "       [1980., 1981., 1982.,  ..., 1997., 1998., 1999.]])");
  const std::string row = fmt::format("{}", Array(Shape{30}, std::vector<double>(30, 0.25)));
  CHECK(row.find('\n') != std::string::npos);
  for (size_t start = 0, end; start < row.size(); start = end + 1) {
    end = std::min(row.find('\n', start), row.size());
    CHECK(end - start <= 80);
  }
}

TEST_CASE("print: a Var formats as its value and takes a double's format spec") {
  Tape tape;
  Var x = 1.25;
  CHECK(fmt::format("{}", x) == "1.25");
  CHECK(fmt::format("{:.3f}", x * 2) == "2.500");
}
