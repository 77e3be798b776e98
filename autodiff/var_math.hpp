#pragma once
// The scalar ops: the functions that build expressions from the op structs of
// autodiff/detail/elementwise_math.hpp (each op's value and partials, shared with the tensor ops).
// The list of ops lives in autodiff/ops.def; tests check every one against central differences.
#include "autodiff/detail/elementwise_math.hpp"
#include "autodiff/var.hpp"  // var.hpp also includes this file at its end; either order works

namespace tapegrad {
namespace detail {

template <class Op, class A, class B>
auto binary(const A& a, const B& b) {
  return Binary<Op, expr_t<A>, expr_t<B>>(as_expr(a), as_expr(b));
}

}  // namespace detail

// clang-format off
template <Expression A> auto operator-(const A& a) { return detail::Unary<detail::NegOp, A>(a); }
template <Expression A> auto sqrt(const A& a)     { return detail::Unary<detail::SqrtOp, A>(a); }
template <Expression A> auto cbrt(const A& a)     { return detail::Unary<detail::CbrtOp, A>(a); }
template <Expression A> auto exp(const A& a)      { return detail::Unary<detail::ExpOp, A>(a); }
template <Expression A> auto expm1(const A& a)    { return detail::Unary<detail::Expm1Op, A>(a); }
template <Expression A> auto log(const A& a)      { return detail::Unary<detail::LogOp, A>(a); }
template <Expression A> auto log1p(const A& a)    { return detail::Unary<detail::Log1pOp, A>(a); }
template <Expression A> auto sin(const A& a)      { return detail::Unary<detail::SinOp, A>(a); }
template <Expression A> auto cos(const A& a)      { return detail::Unary<detail::CosOp, A>(a); }
template <Expression A> auto tan(const A& a)      { return detail::Unary<detail::TanOp, A>(a); }
template <Expression A> auto asin(const A& a)     { return detail::Unary<detail::AsinOp, A>(a); }
template <Expression A> auto acos(const A& a)     { return detail::Unary<detail::AcosOp, A>(a); }
template <Expression A> auto atan(const A& a)     { return detail::Unary<detail::AtanOp, A>(a); }
template <Expression A> auto sinh(const A& a)     { return detail::Unary<detail::SinhOp, A>(a); }
template <Expression A> auto cosh(const A& a)     { return detail::Unary<detail::CoshOp, A>(a); }
template <Expression A> auto tanh(const A& a)     { return detail::Unary<detail::TanhOp, A>(a); }
template <Expression A> auto sigmoid(const A& a)  { return detail::Unary<detail::SigmoidOp, A>(a); }
template <Expression A> auto softplus(const A& a) { return detail::Unary<detail::SoftplusOp, A>(a); }
template <Expression A> auto relu(const A& a)     { return detail::Unary<detail::ReluOp, A>(a); }
template <Expression A> auto abs(const A& a)      { return detail::Unary<detail::AbsOp, A>(a); }
template <Expression A> auto erf(const A& a)      { return detail::Unary<detail::ErfOp, A>(a); }
template <Expression A> auto erfc(const A& a)     { return detail::Unary<detail::ErfcOp, A>(a); }

template <class A, class B> requires Operands<A, B> auto operator+(const A& a, const B& b) { return detail::binary<detail::AddOp>(a, b); }
template <class A, class B> requires Operands<A, B> auto operator-(const A& a, const B& b) { return detail::binary<detail::SubOp>(a, b); }
template <class A, class B> requires Operands<A, B> auto operator*(const A& a, const B& b) { return detail::binary<detail::MulOp>(a, b); }
template <class A, class B> requires Operands<A, B> auto operator/(const A& a, const B& b) { return detail::binary<detail::DivOp>(a, b); }
template <class A, class B> requires Operands<A, B> auto pow(const A& a, const B& b)       { return detail::binary<detail::PowOp>(a, b); }
template <class A, class B> requires Operands<A, B> auto atan2(const A& a, const B& b)     { return detail::binary<detail::Atan2Op>(a, b); }
template <class A, class B> requires Operands<A, B> auto hypot(const A& a, const B& b)     { return detail::binary<detail::HypotOp>(a, b); }
template <class A, class B> requires Operands<A, B> auto min(const A& a, const B& b)       { return detail::binary<detail::MinOp>(a, b); }
template <class A, class B> requires Operands<A, B> auto max(const A& a, const B& b)       { return detail::binary<detail::MaxOp>(a, b); }

// Comparisons compare values and record nothing.
template <class A, class B> requires Operands<A, B> bool operator==(const A& a, const B& b) { return detail::value_of(a) == detail::value_of(b); }
template <class A, class B> requires Operands<A, B> bool operator<(const A& a, const B& b)  { return detail::value_of(a) < detail::value_of(b); }
template <class A, class B> requires Operands<A, B> bool operator<=(const A& a, const B& b) { return detail::value_of(a) <= detail::value_of(b); }
template <class A, class B> requires Operands<A, B> bool operator>(const A& a, const B& b)  { return detail::value_of(a) > detail::value_of(b); }
template <class A, class B> requires Operands<A, B> bool operator>=(const A& a, const B& b) { return detail::value_of(a) >= detail::value_of(b); }
// clang-format on

// Compound assignment records `x = x op e` as one statement.
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
