#pragma once
/// \file
/// The scalar ops: the functions that build expressions from the op structs of
/// autodiff/elementwise_math.hpp (each op's value and partials, shared with the tensor ops).
/// The list of ops lives in autodiff/ops.def; tests check every one against central differences.
#include "autodiff/elementwise_math.hpp"
#include "autodiff/var.hpp"  // var.hpp also includes this file at its end; either order works

namespace tapegrad {
namespace detail {

template <class Op, class A, class B>
auto binary(const A& a, const B& b) {
  return Binary<Op, expr_t<A>, expr_t<B>>(as_expr(a), as_expr(b));
}

}  // namespace detail

// clang-format off
///@{
/// The elementwise function of a scalar expression, as an unevaluated expression that records when
/// assigned to a Var (values and derivatives from autodiff/elementwise_math.hpp).
template <Expression A> auto operator-(const A& a) { return detail::Unary<math::NegOp, A>(a); }
#define TAPEGRAD_VAR_UNARY(fn, Op) template <Expression A> auto fn(const A& a) { return detail::Unary<math::Op, A>(a); }
TAPEGRAD_UNARY_FUNCTIONS(TAPEGRAD_VAR_UNARY)
#undef TAPEGRAD_VAR_UNARY
///@}

///@{
/// Arithmetic and binary functions of two operands, at least one an expression (the other may be
/// a number, recorded as a constant), as an unevaluated expression.
template <class A, class B> requires Operands<A, B> auto operator+(const A& a, const B& b) { return detail::binary<math::AddOp>(a, b); }
template <class A, class B> requires Operands<A, B> auto operator-(const A& a, const B& b) { return detail::binary<math::SubOp>(a, b); }
template <class A, class B> requires Operands<A, B> auto operator*(const A& a, const B& b) { return detail::binary<math::MulOp>(a, b); }
template <class A, class B> requires Operands<A, B> auto operator/(const A& a, const B& b) { return detail::binary<math::DivOp>(a, b); }
#define TAPEGRAD_VAR_BINARY(fn, Op) \
  template <class A, class B> requires Operands<A, B> auto fn(const A& a, const B& b) { return detail::binary<math::Op>(a, b); }
TAPEGRAD_BINARY_FUNCTIONS(TAPEGRAD_VAR_BINARY)
#undef TAPEGRAD_VAR_BINARY
///@}

///@{
/// Comparisons compare values and record nothing.
template <class A, class B> requires Operands<A, B> bool operator==(const A& a, const B& b) { return detail::value_of(a) == detail::value_of(b); }
template <class A, class B> requires Operands<A, B> bool operator<(const A& a, const B& b)  { return detail::value_of(a) < detail::value_of(b); }
template <class A, class B> requires Operands<A, B> bool operator<=(const A& a, const B& b) { return detail::value_of(a) <= detail::value_of(b); }
template <class A, class B> requires Operands<A, B> bool operator>(const A& a, const B& b)  { return detail::value_of(a) > detail::value_of(b); }
template <class A, class B> requires Operands<A, B> bool operator>=(const A& a, const B& b) { return detail::value_of(a) >= detail::value_of(b); }
///@}
// clang-format on

///@{
/// An op's value at Vars, recorded: what math::BasicDual<Var> (reverse over forward,
/// autodiff/dual.hpp) and math::Reverse<Var> (reverse over reverse, autodiff/reverse.hpp) compute
/// their values with.
template <class Op>
Var op_value(Op, const Var& x) {
  return detail::Unary<Op, Var>(x);
}
template <class Op>
Var op_value(Op, const Var& a, const Var& b) {
  return detail::Binary<Op, Var, Var>(a, b);
}
///@}

/// Compound assignment records `x = x op e` as one statement.
template <Expression E>
Var& Var::operator+=(const E& e) {
  return *this = *this + e;
}
template <Expression E>
Var& Var::operator-=(const E& e) {
  return *this = *this - e;
}
template <Expression E>
Var& Var::operator*=(const E& e) {
  return *this = *this * e;
}
template <Expression E>
Var& Var::operator/=(const E& e) {
  return *this = *this / e;
}
inline Var& Var::operator+=(double e) { return *this = *this + e; }
inline Var& Var::operator-=(double e) { return *this = *this - e; }
inline Var& Var::operator*=(double e) { return *this = *this * e; }
inline Var& Var::operator/=(double e) { return *this = *this / e; }

}  // namespace tapegrad
