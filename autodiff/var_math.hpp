#pragma once
// The scalar ops. Each op is one struct: its value and its local partial(s), side by side.
// Unary: value(x), partial(x, y) = dy/dx.  Binary: value(a, b), da = dy/da, db = dy/db.
// The list of ops lives in autodiff/ops.def; tests check every one against central differences.
#include <algorithm>
#include <cmath>
#include <numbers>

#include "autodiff/var.hpp"  // var.hpp also includes this file at its end; either order works

namespace tapegrad {
namespace detail {

inline double stable_sigmoid(double x) {
  if (x >= 0) return 1.0 / (1.0 + std::exp(-x));
  const double e = std::exp(x);
  return e / (1.0 + e);
}

// clang-format off
struct NegOp     { static constexpr const char* kName = "neg";      static double value(double x) { return -x; }                 static double partial(double, double) { return -1.0; } };
struct SqrtOp    { static constexpr const char* kName = "sqrt";     static double value(double x) { return std::sqrt(x); }       static double partial(double, double y) { return 0.5 / y; } };         // d sqrt = 1/(2 sqrt)
struct CbrtOp    { static constexpr const char* kName = "cbrt";     static double value(double x) { return std::cbrt(x); }       static double partial(double, double y) { return 1.0 / (3.0 * y * y); } };
struct ExpOp     { static constexpr const char* kName = "exp";      static double value(double x) { return std::exp(x); }        static double partial(double, double y) { return y; } };               // d exp = exp
struct Expm1Op   { static constexpr const char* kName = "expm1";    static double value(double x) { return std::expm1(x); }      static double partial(double, double y) { return y + 1.0; } };
struct LogOp     { static constexpr const char* kName = "log";      static double value(double x) { return std::log(x); }        static double partial(double x, double) { return 1.0 / x; } };
struct Log1pOp   { static constexpr const char* kName = "log1p";    static double value(double x) { return std::log1p(x); }      static double partial(double x, double) { return 1.0 / (1.0 + x); } };
struct SinOp     { static constexpr const char* kName = "sin";      static double value(double x) { return std::sin(x); }        static double partial(double x, double) { return std::cos(x); } };
struct CosOp     { static constexpr const char* kName = "cos";      static double value(double x) { return std::cos(x); }        static double partial(double x, double) { return -std::sin(x); } };
struct TanOp     { static constexpr const char* kName = "tan";      static double value(double x) { return std::tan(x); }        static double partial(double, double y) { return 1.0 + y * y; } };     // d tan = 1 + tan^2
struct AsinOp    { static constexpr const char* kName = "asin";     static double value(double x) { return std::asin(x); }       static double partial(double x, double) { return 1.0 / std::sqrt(1.0 - x * x); } };
struct AcosOp    { static constexpr const char* kName = "acos";     static double value(double x) { return std::acos(x); }       static double partial(double x, double) { return -1.0 / std::sqrt(1.0 - x * x); } };
struct AtanOp    { static constexpr const char* kName = "atan";     static double value(double x) { return std::atan(x); }       static double partial(double x, double) { return 1.0 / (1.0 + x * x); } };
struct SinhOp    { static constexpr const char* kName = "sinh";     static double value(double x) { return std::sinh(x); }       static double partial(double x, double) { return std::cosh(x); } };
struct CoshOp    { static constexpr const char* kName = "cosh";     static double value(double x) { return std::cosh(x); }       static double partial(double x, double) { return std::sinh(x); } };
struct TanhOp    { static constexpr const char* kName = "tanh";     static double value(double x) { return std::tanh(x); }       static double partial(double, double y) { return 1.0 - y * y; } };     // d tanh = 1 - tanh^2
struct SigmoidOp { static constexpr const char* kName = "sigmoid";  static double value(double x) { return stable_sigmoid(x); } static double partial(double, double y) { return y * (1.0 - y); } };
struct SoftplusOp{ static constexpr const char* kName = "softplus"; static double value(double x) { return std::max(x, 0.0) + std::log1p(std::exp(-std::abs(x))); }
                                                                                                                                 static double partial(double x, double) { return stable_sigmoid(x); } }; // d softplus = sigmoid
struct ReluOp    { static constexpr const char* kName = "relu";     static double value(double x) { return x > 0 ? x : 0.0; }    static double partial(double x, double) { return x > 0 ? 1.0 : 0.0; } };
struct AbsOp     { static constexpr const char* kName = "abs";      static double value(double x) { return std::abs(x); }        static double partial(double x, double) { return x > 0 ? 1.0 : (x < 0 ? -1.0 : 0.0); } };
struct ErfOp     { static constexpr const char* kName = "erf";      static double value(double x) { return std::erf(x); }        static double partial(double x, double) { return 2.0 * std::numbers::inv_sqrtpi * std::exp(-x * x); } };
struct ErfcOp    { static constexpr const char* kName = "erfc";     static double value(double x) { return std::erfc(x); }       static double partial(double x, double) { return -2.0 * std::numbers::inv_sqrtpi * std::exp(-x * x); } };

struct AddOp   { static constexpr const char* kName = "add";   static double value(double a, double b) { return a + b; }  static double da(double, double, double) { return 1.0; }  static double db(double, double, double) { return 1.0; } };
struct SubOp   { static constexpr const char* kName = "sub";   static double value(double a, double b) { return a - b; }  static double da(double, double, double) { return 1.0; }  static double db(double, double, double) { return -1.0; } };
struct MulOp   { static constexpr const char* kName = "mul";   static double value(double a, double b) { return a * b; }  static double da(double, double b, double) { return b; }  static double db(double a, double, double) { return a; } };
struct DivOp   { static constexpr const char* kName = "div";   static double value(double a, double b) { return a / b; }  static double da(double, double b, double) { return 1.0 / b; } static double db(double, double b, double y) { return -y * (1.0 / b); } };  // one division: 1/b is shared
// d a^b/da = b a^(b-1) (0 for b = 0, also at a = 0, as PyTorch); d a^b/db = a^b log a (taken as 0
// where a^b = 0, the limit for b > 0). atan2 and hypot have no derivative at (0, 0): 0 there, as PyTorch.
struct PowOp   { static constexpr const char* kName = "pow";   static double value(double a, double b) { return std::pow(a, b); }
                 static double da(double a, double b, double) { return b == 0.0 ? 0.0 : b * std::pow(a, b - 1.0); }
                 static double db(double a, double, double y) { return y == 0.0 ? 0.0 : y * std::log(a); } };
struct Atan2Op { static constexpr const char* kName = "atan2"; static double value(double a, double b) { return std::atan2(a, b); }
                 static double da(double a, double b, double) { const double r2 = a * a + b * b; return r2 == 0.0 ? 0.0 : b / r2; }
                 static double db(double a, double b, double) { const double r2 = a * a + b * b; return r2 == 0.0 ? 0.0 : -a / r2; } };
struct HypotOp { static constexpr const char* kName = "hypot"; static double value(double a, double b) { return std::hypot(a, b); }
                 static double da(double a, double, double y) { return y == 0.0 ? 0.0 : a / y; }
                 static double db(double, double b, double y) { return y == 0.0 ? 0.0 : b / y; } };
// min/max: the gradient goes to the selected operand; a tie splits it evenly.
struct MinOp   { static constexpr const char* kName = "min";   static double value(double a, double b) { return std::min(a, b); }
                 static double da(double a, double b, double) { return a < b ? 1.0 : (a == b ? 0.5 : 0.0); }
                 static double db(double a, double b, double) { return b < a ? 1.0 : (a == b ? 0.5 : 0.0); } };
struct MaxOp   { static constexpr const char* kName = "max";   static double value(double a, double b) { return std::max(a, b); }
                 static double da(double a, double b, double) { return a > b ? 1.0 : (a == b ? 0.5 : 0.0); }
                 static double db(double a, double b, double) { return b > a ? 1.0 : (a == b ? 0.5 : 0.0); } };
// clang-format on

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
