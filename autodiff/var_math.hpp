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
template <Expression A> auto sqrt(const A& a)     { return detail::Unary<math::SqrtOp, A>(a); }
template <Expression A> auto cbrt(const A& a)     { return detail::Unary<math::CbrtOp, A>(a); }
template <Expression A> auto exp(const A& a)      { return detail::Unary<math::ExpOp, A>(a); }
template <Expression A> auto expm1(const A& a)    { return detail::Unary<math::Expm1Op, A>(a); }
template <Expression A> auto log(const A& a)      { return detail::Unary<math::LogOp, A>(a); }
template <Expression A> auto log1p(const A& a)    { return detail::Unary<math::Log1pOp, A>(a); }
template <Expression A> auto sin(const A& a)      { return detail::Unary<math::SinOp, A>(a); }
template <Expression A> auto cos(const A& a)      { return detail::Unary<math::CosOp, A>(a); }
template <Expression A> auto tan(const A& a)      { return detail::Unary<math::TanOp, A>(a); }
template <Expression A> auto asin(const A& a)     { return detail::Unary<math::AsinOp, A>(a); }
template <Expression A> auto acos(const A& a)     { return detail::Unary<math::AcosOp, A>(a); }
template <Expression A> auto atan(const A& a)     { return detail::Unary<math::AtanOp, A>(a); }
template <Expression A> auto sinh(const A& a)     { return detail::Unary<math::SinhOp, A>(a); }
template <Expression A> auto cosh(const A& a)     { return detail::Unary<math::CoshOp, A>(a); }
template <Expression A> auto tanh(const A& a)     { return detail::Unary<math::TanhOp, A>(a); }
template <Expression A> auto sigmoid(const A& a)  { return detail::Unary<math::SigmoidOp, A>(a); }
template <Expression A> auto softplus(const A& a) { return detail::Unary<math::SoftplusOp, A>(a); }
template <Expression A> auto relu(const A& a)     { return detail::Unary<math::ReluOp, A>(a); }
template <Expression A> auto abs(const A& a)      { return detail::Unary<math::AbsOp, A>(a); }
template <Expression A> auto erf(const A& a)      { return detail::Unary<math::ErfOp, A>(a); }
template <Expression A> auto erfc(const A& a)     { return detail::Unary<math::ErfcOp, A>(a); }
///@}

///@{
/// Arithmetic and binary functions of two operands, at least one an expression (the other may be
/// a number, recorded as a constant), as an unevaluated expression.
template <class A, class B> requires Operands<A, B> auto operator+(const A& a, const B& b) { return detail::binary<math::AddOp>(a, b); }
template <class A, class B> requires Operands<A, B> auto operator-(const A& a, const B& b) { return detail::binary<math::SubOp>(a, b); }
template <class A, class B> requires Operands<A, B> auto operator*(const A& a, const B& b) { return detail::binary<math::MulOp>(a, b); }
template <class A, class B> requires Operands<A, B> auto operator/(const A& a, const B& b) { return detail::binary<math::DivOp>(a, b); }
template <class A, class B> requires Operands<A, B> auto pow(const A& a, const B& b)       { return detail::binary<math::PowOp>(a, b); }
template <class A, class B> requires Operands<A, B> auto atan2(const A& a, const B& b)     { return detail::binary<math::Atan2Op>(a, b); }
template <class A, class B> requires Operands<A, B> auto hypot(const A& a, const B& b)     { return detail::binary<math::HypotOp>(a, b); }
template <class A, class B> requires Operands<A, B> auto min(const A& a, const B& b)       { return detail::binary<math::MinOp>(a, b); }
template <class A, class B> requires Operands<A, B> auto max(const A& a, const B& b)       { return detail::binary<math::MaxOp>(a, b); }
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
/// autodiff/dual.hpp) computes its values with.
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
