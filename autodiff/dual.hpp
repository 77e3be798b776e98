#pragma once
/// \file
/// Dual numbers v + t eps (eps^2 = 0): a value and its tangent, carried together. Each function
/// here is built from its op struct of autodiff/elementwise_math.hpp, value and partial, so no
/// derivative is written twice: f(v + t eps) = f(v) + f'(v) t eps. Evaluating an op's partial
/// formula on duals gives the partial's own tangent, which is what the scalar tape records for
/// second derivatives (autodiff/higher_order.hpp).
#include "autodiff/elementwise_math.hpp"

namespace tapegrad::math {

/// A value and its tangent (directional derivative).
struct Dual {
  double v = 0.0;  ///< the value
  double t = 0.0;  ///< its tangent
  /// A constant (tangent 0); implicit, so that the formulas' `T(1)` and literal operands work.
  constexpr Dual(double value = 0.0, double tangent = 0.0) : v(value), t(tangent) {}  // NOLINT

  ///@{
  /// Arithmetic: the product and quotient rules.
  friend constexpr Dual operator+(Dual a, Dual b) { return {a.v + b.v, a.t + b.t}; }
  friend constexpr Dual operator-(Dual a, Dual b) { return {a.v - b.v, a.t - b.t}; }
  friend constexpr Dual operator-(Dual a) { return {-a.v, -a.t}; }
  friend constexpr Dual operator*(Dual a, Dual b) { return {a.v * b.v, a.t * b.v + a.v * b.t}; }
  friend constexpr Dual operator/(Dual a, Dual b) {
    const double y = a.v / b.v;
    return {y, (a.t - y * b.t) / b.v};
  }
  ///@}
  ///@{
  /// Comparisons compare values (the kinks' branches follow the value, as for double).
  friend constexpr bool operator==(Dual a, Dual b) { return a.v == b.v; }
  friend constexpr bool operator!=(Dual a, Dual b) { return a.v != b.v; }
  friend constexpr bool operator<(Dual a, Dual b) { return a.v < b.v; }
  friend constexpr bool operator>(Dual a, Dual b) { return a.v > b.v; }
  friend constexpr bool operator<=(Dual a, Dual b) { return a.v <= b.v; }
  friend constexpr bool operator>=(Dual a, Dual b) { return a.v >= b.v; }
  ///@}
};

/// Op applied to a dual: Op::value(x), with tangent Op::partial(x, y) x.t.
template <class Op>
Dual apply(Dual x) {
  const double y = Op::value(x.v);
  return {y, Op::partial(x.v, y) * x.t};
}
/// Op applied to two duals: Op::value(a, b), with tangent da a.t + db b.t.
template <class Op>
Dual apply(Dual a, Dual b) {
  const double y = Op::value(a.v, b.v);
  return {y, Op::da(a.v, b.v, y) * a.t + Op::db(a.v, b.v, y) * b.t};
}

// clang-format off
///@{
/// The elementwise functions on duals, each from its op struct.
inline Dual sqrt(Dual x)  { return apply<SqrtOp>(x); }
inline Dual exp(Dual x)   { return apply<ExpOp>(x); }
inline Dual erf(Dual x)   { return apply<ErfOp>(x); }
inline Dual log(Dual x)   { return apply<LogOp>(x); }
inline Dual sin(Dual x)   { return apply<SinOp>(x); }
inline Dual cos(Dual x)   { return apply<CosOp>(x); }
inline Dual sinh(Dual x)  { return apply<SinhOp>(x); }
inline Dual cosh(Dual x)  { return apply<CoshOp>(x); }
inline Dual pow(Dual a, Dual b) { return apply<PowOp>(a, b); }
///@}
// clang-format on

}  // namespace tapegrad::math
