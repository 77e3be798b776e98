#pragma once
/// \file
/// Dual numbers v + t eps (eps^2 = 0): a value and its tangent, carried together. Each function
/// here is built from its op struct of autodiff/elementwise_math.hpp, value and partial, so no
/// derivative is written twice: f(v + t eps) = f(v) + f'(v) t eps. Evaluating an op's partial
/// formula on duals gives the partial's own tangent, which is what the scalar tape records for
/// second derivatives (autodiff/higher_order.hpp).
///
/// The value and tangent are of any number type T: double (`Dual`), a dual itself (forward over
/// forward: `BasicDual<Dual>` carries second derivatives, no tape), or the scalar tape's `Var`
/// (reverse over forward: a tape records the forward-mode arithmetic and differentiates it).
#include <type_traits>

#include "autodiff/elementwise_math.hpp"

namespace tapegrad::math {

/// A value and its tangent (directional derivative), of number type T.
template <class T>
struct BasicDual {
  T v = T(0.0);  ///< the value
  T t = T(0.0);  ///< its tangent
  constexpr BasicDual() = default;
  /// A value and a tangent; implicit from a value alone (tangent 0: a constant), so that the
  /// formulas' `T(1)` and literal operands work.
  constexpr BasicDual(T value, T tangent = T(0.0)) : v(value), t(tangent) {}  // NOLINT
  /// A constant from a plain number, at any depth of nesting.
  template <class U>
  requires(std::is_arithmetic_v<U> && !std::is_same_v<U, T>) constexpr BasicDual(U value)
      : v(T(value)), t(T(0.0)) {}  // NOLINT

  ///@{
  /// Arithmetic: the product and quotient rules.
  friend constexpr BasicDual operator+(const BasicDual& a, const BasicDual& b) { return {a.v + b.v, a.t + b.t}; }
  friend constexpr BasicDual operator-(const BasicDual& a, const BasicDual& b) { return {a.v - b.v, a.t - b.t}; }
  friend constexpr BasicDual operator-(const BasicDual& a) { return {-a.v, -a.t}; }
  friend constexpr BasicDual operator*(const BasicDual& a, const BasicDual& b) {
    return {a.v * b.v, a.t * b.v + a.v * b.t};
  }
  friend constexpr BasicDual operator/(const BasicDual& a, const BasicDual& b) {
    const T y = a.v / b.v;
    return {y, (a.t - y * b.t) / b.v};
  }
  ///@}
  ///@{
  /// Comparisons compare values (the kinks' branches follow the value, as for double).
  friend constexpr bool operator==(const BasicDual& a, const BasicDual& b) { return a.v == b.v; }
  friend constexpr bool operator!=(const BasicDual& a, const BasicDual& b) { return a.v != b.v; }
  friend constexpr bool operator<(const BasicDual& a, const BasicDual& b) { return a.v < b.v; }
  friend constexpr bool operator>(const BasicDual& a, const BasicDual& b) { return a.v > b.v; }
  friend constexpr bool operator<=(const BasicDual& a, const BasicDual& b) { return a.v <= b.v; }
  friend constexpr bool operator>=(const BasicDual& a, const BasicDual& b) { return a.v >= b.v; }
  ///@}
};

/// The dual of doubles: first derivatives, and the scalar tape's second-order partials.
using Dual = BasicDual<double>;

///@{
/// Op's value at numbers a dual can hold: the op struct's formula on double, the dual rule on a
/// dual (nesting). Another number type brings its own overload, found beside it (the scalar tape's
/// Var: autodiff/var_math.hpp).
template <class Op>
double op_value(Op, double x) {
  return Op::value(x);
}
template <class Op>
double op_value(Op, double a, double b) {
  return Op::value(a, b);
}
template <class Op, class T>
BasicDual<T> op_value(Op, const BasicDual<T>& x);
template <class Op, class T>
BasicDual<T> op_value(Op, const BasicDual<T>& a, const BasicDual<T>& b);
///@}

/// Op applied to a dual: Op's value at x.v, with tangent Op::partial(x.v, y) x.t.
template <class Op, class T>
BasicDual<T> apply(const BasicDual<T>& x) {
  const T y = op_value(Op{}, x.v);
  return {y, Op::partial(x.v, y) * x.t};
}
/// Op applied to two duals: Op's value at (a.v, b.v), with tangent da a.t + db b.t.
template <class Op, class T>
BasicDual<T> apply(const BasicDual<T>& a, const BasicDual<T>& b) {
  const T y = op_value(Op{}, a.v, b.v);
  return {y, Op::da(a.v, b.v, y) * a.t + Op::db(a.v, b.v, y) * b.t};
}

template <class Op, class T>
BasicDual<T> op_value(Op, const BasicDual<T>& x) {
  return apply<Op>(x);
}
template <class Op, class T>
BasicDual<T> op_value(Op, const BasicDual<T>& a, const BasicDual<T>& b) {
  return apply<Op>(a, b);
}

///@{
/// The elementwise functions on duals, each from its op struct (the list: elementwise_math.hpp).
#define TAPEGRAD_DUAL_UNARY(fn, Op)        \
  template <class T>                       \
  BasicDual<T> fn(const BasicDual<T>& x) { \
    return apply<Op>(x);                   \
  }
#define TAPEGRAD_DUAL_BINARY(fn, Op)                              \
  template <class T>                                              \
  BasicDual<T> fn(const BasicDual<T>& a, const BasicDual<T>& b) { \
    return apply<Op>(a, b);                                       \
  }
TAPEGRAD_UNARY_FUNCTIONS(TAPEGRAD_DUAL_UNARY)
TAPEGRAD_BINARY_FUNCTIONS(TAPEGRAD_DUAL_BINARY)
#undef TAPEGRAD_DUAL_UNARY
#undef TAPEGRAD_DUAL_BINARY
///@}

}  // namespace tapegrad::math
