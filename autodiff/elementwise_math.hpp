#pragma once
/// \file
/// The math of every elementwise op, once: each op is one struct with its value and its local
/// partial(s) side by side, templated on the number type. The scalar expression templates
/// (var_math.hpp, double) and the tensor kernels (ops/elementwise.cpp, float and double) both read
/// these structs, so a new op is one entry here, one line per form that offers it, and its
/// gradient-check case. Public: an op you write (autodiff/op.hpp) can read the same math, as nn's
/// fused neuron op does. Unary: value(x), partial(x, y) = dy/dx. Binary: value(a, b),
/// da(a, b, y) = dy/da, db(a, b, y) = dy/db. (The closed-form reference in nn/reference keeps its own
/// activations on purpose: it checks this code, so it must not share it.)
#include <algorithm>
#include <cmath>
#include <numbers>

namespace tapegrad::math {

// The partials below call the functions unqualified, so that the same formula serves double,
// float and math::Dual (autodiff/dual.hpp: a partial evaluated on dual numbers is its own tangent,
// which is how the scalar tape gets second derivatives).
using std::cos;
using std::cosh;
using std::erf;
using std::exp;
using std::log;
using std::pow;
using std::sin;
using std::sinh;
using std::sqrt;

/// max and min that return NaN when either operand is NaN (std::max(1, NaN) is 1), as NumPy's
/// maximum and PyTorch's do.
template <class T>
T nan_max(T a, T b) {
  return a > b || a != a ? a : b;
}
/// See nan_max.
template <class T>
T nan_min(T a, T b) {
  return a < b || a != a ? a : b;
}

/// 1 / (1 + exp(-x)), never taking exp of a large positive number.
template <class T>
T stable_sigmoid(T x) {
  if (x >= 0) return T(1) / (T(1) + exp(-x));
  const T e = exp(x);
  return e / (T(1) + e);
}

// clang-format off
/// `TAPEGRAD_UNARY(Name, "name", value, partial)` defines `struct Name` with `kName` (the op's name
/// in errors and anomaly reports), `value(x)` and `partial(x, y)` = dy/dx at y = value(x), both
/// templated on the number type.
#define TAPEGRAD_UNARY(Name, name, value_expr, partial_expr)                                      \
  struct Name {                                                                                   \
    static constexpr const char* kName = name;                                                    \
    template <class T> static T value(T x) { return value_expr; }                                 \
    template <class T> static T partial([[maybe_unused]] T x, [[maybe_unused]] T y) { return partial_expr; } \
  };
TAPEGRAD_UNARY(NegOp,      "neg",      -x,                       T(-1))
TAPEGRAD_UNARY(SqrtOp,     "sqrt",     std::sqrt(x),             T(0.5) / y)                 // d sqrt = 1/(2 sqrt)
TAPEGRAD_UNARY(CbrtOp,     "cbrt",     std::cbrt(x),             T(1) / (T(3) * y * y))
TAPEGRAD_UNARY(ExpOp,      "exp",      std::exp(x),              y)                          // d exp = exp
TAPEGRAD_UNARY(Expm1Op,    "expm1",    std::expm1(x),            y + T(1))
TAPEGRAD_UNARY(LogOp,      "log",      std::log(x),              T(1) / x)
TAPEGRAD_UNARY(Log1pOp,    "log1p",    std::log1p(x),            T(1) / (T(1) + x))
TAPEGRAD_UNARY(SinOp,      "sin",      std::sin(x),              cos(x))
TAPEGRAD_UNARY(CosOp,      "cos",      std::cos(x),              -sin(x))
TAPEGRAD_UNARY(TanOp,      "tan",      std::tan(x),              T(1) + y * y)               // d tan = 1 + tan^2
TAPEGRAD_UNARY(AsinOp,     "asin",     std::asin(x),             T(1) / sqrt(T(1) - x * x))
TAPEGRAD_UNARY(AcosOp,     "acos",     std::acos(x),             T(-1) / sqrt(T(1) - x * x))
TAPEGRAD_UNARY(AtanOp,     "atan",     std::atan(x),             T(1) / (T(1) + x * x))
TAPEGRAD_UNARY(SinhOp,     "sinh",     std::sinh(x),             cosh(x))
TAPEGRAD_UNARY(CoshOp,     "cosh",     std::cosh(x),             sinh(x))
TAPEGRAD_UNARY(TanhOp,     "tanh",     std::tanh(x),             T(1) - y * y)               // d tanh = 1 - tanh^2
TAPEGRAD_UNARY(SigmoidOp,  "sigmoid",  stable_sigmoid(x),        y * (T(1) - y))             // d sigmoid = s (1 - s)
TAPEGRAD_UNARY(SoftplusOp, "softplus", std::max(x, T(0)) + std::log1p(std::exp(-std::abs(x))),
                                                                 stable_sigmoid(x))          // d softplus = sigmoid
TAPEGRAD_UNARY(ReluOp,     "relu",     x > 0 || x != x ? x : T(0), x > 0 ? T(1) : T(0))  // NaN stays NaN
TAPEGRAD_UNARY(AbsOp,      "abs",      std::abs(x),              x > 0 ? T(1) : (x < 0 ? T(-1) : T(0)))
TAPEGRAD_UNARY(ErfOp,      "erf",      std::erf(x),              T(2 * std::numbers::inv_sqrtpi) * exp(-x * x))
TAPEGRAD_UNARY(ErfcOp,     "erfc",     std::erfc(x),             T(-2 * std::numbers::inv_sqrtpi) * exp(-x * x))
TAPEGRAD_UNARY(SquareOp,   "square",   x * x,                    T(2) * x)                   // d x^2 = 2x
#undef TAPEGRAD_UNARY

/// `TAPEGRAD_BINARY(Name, "name", value, da, db)` defines `struct Name` with `kName`, `value(a, b)`,
/// `da(a, b, y)` = dy/da and `db(a, b, y)` = dy/db at y = value(a, b).
#define TAPEGRAD_BINARY(Name, name, value_expr, da_expr, db_expr)                                  \
  struct Name {                                                                                    \
    static constexpr const char* kName = name;                                                     \
    template <class T> static T value(T a, T b) { return value_expr; }                             \
    template <class T> static T da([[maybe_unused]] T a, [[maybe_unused]] T b, [[maybe_unused]] T y) { return da_expr; } \
    template <class T> static T db([[maybe_unused]] T a, [[maybe_unused]] T b, [[maybe_unused]] T y) { return db_expr; } \
  };
TAPEGRAD_BINARY(AddOp, "add", a + b, T(1), T(1))
TAPEGRAD_BINARY(SubOp, "sub", a - b, T(1), T(-1))
TAPEGRAD_BINARY(MulOp, "mul", a * b, b, a)
TAPEGRAD_BINARY(DivOp, "div", a / b, T(1) / b, -y * (T(1) / b))  // d(a/b)/db = -(a/b)/b; one division, shared
/// d a^b/da = b a^(b-1) (0 for b = 0, also at a = 0, as PyTorch); d a^b/db = a^b log a (taken as 0
/// where a^b = 0, the limit for b > 0).
TAPEGRAD_BINARY(PowOp, "pow", std::pow(a, b),
                b == 0 ? T(0) : b * pow(a, b - T(1)),
                y == 0 ? T(0) : y * log(a))
/// atan2 and hypot have no derivative at (0, 0): 0 there, as PyTorch.
TAPEGRAD_BINARY(Atan2Op, "atan2", std::atan2(a, b),
                a * a + b * b == 0 ? T(0) : b / (a * a + b * b),
                a * a + b * b == 0 ? T(0) : -a / (a * a + b * b))
TAPEGRAD_BINARY(HypotOp, "hypot", std::hypot(a, b), y == 0 ? T(0) : a / y, y == 0 ? T(0) : b / y)
/// min/max: the gradient goes to the selected operand; a tie splits it evenly; NaN propagates.
TAPEGRAD_BINARY(MinOp, "min", nan_min(a, b), a < b ? T(1) : (a == b ? T(0.5) : T(0)), b < a ? T(1) : (a == b ? T(0.5) : T(0)))
TAPEGRAD_BINARY(MaxOp, "max", nan_max(a, b), a > b ? T(1) : (a == b ? T(0.5) : T(0)), b > a ? T(1) : (a == b ? T(0.5) : T(0)))
#undef TAPEGRAD_BINARY

/// The elementwise functions by name with their op structs, one list for every number type that
/// offers them (the scalar tape's expressions, autodiff/var_math.hpp; dual numbers,
/// autodiff/dual.hpp; nested reverse mode, autodiff/reverse.hpp): `X(function, OpStruct)`.
#define TAPEGRAD_UNARY_FUNCTIONS(X)                                                                \
  X(sqrt, SqrtOp) X(cbrt, CbrtOp) X(exp, ExpOp) X(expm1, Expm1Op) X(log, LogOp) X(log1p, Log1pOp) \
  X(sin, SinOp) X(cos, CosOp) X(tan, TanOp) X(asin, AsinOp) X(acos, AcosOp) X(atan, AtanOp)       \
  X(sinh, SinhOp) X(cosh, CoshOp) X(tanh, TanhOp) X(sigmoid, SigmoidOp) X(softplus, SoftplusOp)   \
  X(relu, ReluOp) X(abs, AbsOp) X(erf, ErfOp) X(erfc, ErfcOp)
/// See TAPEGRAD_UNARY_FUNCTIONS: the functions of two operands.
#define TAPEGRAD_BINARY_FUNCTIONS(X) X(pow, PowOp) X(atan2, Atan2Op) X(hypot, HypotOp) X(min, MinOp) X(max, MaxOp)
// clang-format on

}  // namespace tapegrad::math
