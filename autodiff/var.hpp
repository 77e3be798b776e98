#pragma once
/// \file
/// Var: a scalar on the active tape. A Var is a 24-byte handle {value, slot, 64-bit generation}; copying it
/// copies the handle (shallow), not a node. A Var made with no recording tape (NoGradGuard,
/// detach(), default construction) is a constant: it records nothing and has zero gradient.
///
/// Arithmetic builds small expression objects (statement-level taping, as in Adept): the whole
/// right-hand side of `Var y = a * b + sin(c);` becomes one tape statement whose operands are the
/// Vars it reads, each with its chain-ruled local partial. Values are computed eagerly and operands are
/// held by value, so an expression never dangles; assign it to a Var to record it.
#include <cmath>
#include <concepts>
#include <initializer_list>
#include <span>
#include <type_traits>
#include <vector>

#include "autodiff/dual.hpp"
#include "autodiff/tape.hpp"

namespace tapegrad {

template <class E>
concept Expression = requires {
  E::kIsExpression;
};

template <class A, class B>
concept Operands = (Expression<A> || Expression<B>)&&(Expression<A> ||
                                                      std::is_arithmetic_v<A>)&&(Expression<B> ||
                                                                                 std::is_arithmetic_v<B>);

/// A scalar on the tape: a leaf (`Var x = 1.5;`) or the result of one recorded statement. Arithmetic
/// on Vars builds expression templates that record as one statement when assigned to a Var.
class Var {
 public:
  ///@{
  /// Expression protocol (see `Expression`): a Var is an expression of one leaf, recorded by copying.
  static constexpr bool kIsExpression = true;
  static constexpr int kLeaves = 1;
  static constexpr const char* kName = "copy";
  ///@}

  /// A constant 0 (records nothing).
  Var() = default;
  /// A new leaf on the active tape (TapeError if none; a constant under NoGradGuard).
  Var(double value);  // NOLINT: implicit, so `Var x = 1.5;` reads naturally
  /// Records the expression as one statement.
  template <Expression E>
  Var(const E& expr);  // NOLINT
  /// Records the expression as one statement and holds its result.
  template <Expression E>
  Var& operator=(const E& expr) {
    return *this = Var(expr);
  }
  /// A new leaf with this value (as `Var(double)`).
  Var& operator=(double value) { return *this = Var(value); }

  /// The value computed when the Var was recorded.
  double value() const { return value_; }
  /// dRoot/dthis after root.backward() on the active tape (0 for constants).
  double grad() const;
  /// One reverse sweep from this Var (seed 1). Throws on a second call unless retain_graph.
  void backward(BackwardOptions options = {}) const;
  /// The same value as a constant: gradients stop here.
  Var detach() const { return Var(value_, kConstantSlot, 0); }
  /// True for constants (made without a tape or under NoGradGuard): no gradient flows through them.
  bool is_constant() const { return gen_ == 0; }
  /// The Var's id on its tape: negative for leaves, a statement index otherwise (for tools and tests).
  int32_t slot() const { return slot_; }
  /// The recording the Var belongs to (0 for constants); a Var of an older recording is stale.
  Generation generation() const { return gen_; }

  ///@{
  /// `x op= e` records `x = x op e` as one statement (defined in var_math.hpp).
  template <Expression E>
  Var& operator+=(const E& e);
  template <Expression E>
  Var& operator-=(const E& e);
  template <Expression E>
  Var& operator*=(const E& e);
  template <Expression E>
  Var& operator/=(const E& e);
  Var& operator+=(double e);
  Var& operator-=(double e);
  Var& operator*=(double e);
  Var& operator/=(double e);
  ///@}

  /// Expression protocol.
  template <class P>
  void push(P& p, double partial) const {
    p.push(*this, partial);
  }
  /// Expression protocol, tangent recordings: the value with its tangent on p's tape.
  template <class P>
  [[gnu::always_inline]] math::Dual dual(const P& p) const {
    return {value_, p.tangent(*this)};
  }
  /// Expression protocol, tangent recordings: the partial with its own tangent.
  template <class P>
  [[gnu::always_inline]] void push_dual(P& p, math::Dual partial) const {
    p.push(*this, partial.v, partial.t);
  }
  /// Expression protocol: a Var's value is finite by construction (it was checked when recorded).
  static const char* first_nonfinite() { return nullptr; }

 private:
  friend class Tape;
  Var(double v, int32_t slot, Generation gen) : value_(v), slot_(slot), gen_(gen) {}
  double value_ = 0.0;
  /// Statement id >= 0, leaf id <= -2. Constants hold -1, the tape's sink: a constant operand of a
  /// statement is recorded like any other, and its partial lands in an adjoint nobody reads. The
  /// recording path then has no branch on constants and every entry's position is known when compiled.
  static constexpr int32_t kConstantSlot = Tape::kSinkId;
  int32_t slot_ = kConstantSlot;
  Generation gen_ = 0;
};
static_assert(sizeof(Var) == 24);

namespace detail {

struct Const {
  static constexpr bool kIsExpression = true;
  static constexpr int kLeaves = 0;
  double v;
  double value() const { return v; }
  template <class P>
  void push(P&, double) const {}
  template <class P>
  math::Dual dual(const P&) const {
    return {v, 0.0};
  }
  template <class P>
  void push_dual(P&, math::Dual) const {}
  static const char* first_nonfinite() { return nullptr; }
};

template <class X>
using expr_t = std::conditional_t<Expression<X>, X, Const>;
template <class X>
expr_t<X> as_expr(const X& x) {
  if constexpr (Expression<X>)
    return x;
  else
    return Const{static_cast<double>(x)};
}
template <class X>
double value_of(const X& x) {
  if constexpr (Expression<X>)
    return x.value();
  else
    return static_cast<double>(x);
}

/// y = Op::value(x); dy/dx = Op::partial(x, y).
template <class Op, class A>
struct Unary {
  static constexpr bool kIsExpression = true;
  static constexpr int kLeaves = A::kLeaves;
  static constexpr const char* kName = Op::kName;
  A a;
  double y;
  explicit Unary(const A& a_) : a(a_), y(Op::value(a_.value())) {}
  double value() const { return y; }
  template <class P>
  void push(P& p, double d) const {
    a.push(p, d * Op::partial(a.value(), y));
  }
  // Tangent recordings: the same partial formula evaluated on duals carries its own tangent.
  [[gnu::always_inline]] math::Dual dual_at(math::Dual x) const { return {y, Op::partial(x.v, y) * x.t}; }
  template <class P>
  [[gnu::always_inline]] math::Dual dual(const P& p) const {
    return dual_at(a.dual(p));
  }
  template <class P>
  [[gnu::always_inline]] void push_dual(P& p, math::Dual d) const {
    const math::Dual x = a.dual(p);
    a.push_dual(p, d * Op::partial(x, dual_at(x)));
  }
  const char* first_nonfinite() const {
    if (const char* n = a.first_nonfinite()) return n;
    return std::isfinite(y) ? nullptr : Op::kName;
  }
};

/// y = Op::value(a, b); dy/da = Op::da(a, b, y); dy/db = Op::db(a, b, y).
template <class Op, class A, class B>
struct Binary {
  static constexpr bool kIsExpression = true;
  static constexpr int kLeaves = A::kLeaves + B::kLeaves;
  static constexpr const char* kName = Op::kName;
  A a;
  B b;
  double y;
  Binary(const A& a_, const B& b_) : a(a_), b(b_), y(Op::value(a_.value(), b_.value())) {}
  double value() const { return y; }
  template <class P>
  void push(P& p, double d) const {
    // Both partials before any store: stores into the tape could alias this node, which would
    // make the compiler reload and recompute shared terms (Div's 1/b).
    const double x = a.value(), z = b.value();
    [[maybe_unused]] const double ga = A::kLeaves > 0 ? d * Op::da(x, z, y) : 0.0;
    [[maybe_unused]] const double gb = B::kLeaves > 0 ? d * Op::db(x, z, y) : 0.0;
    if constexpr (A::kLeaves > 0) a.push(p, ga);
    if constexpr (B::kLeaves > 0) b.push(p, gb);
  }
  // Tangent recordings (see Unary).
  [[gnu::always_inline]] math::Dual dual_at(math::Dual x, math::Dual z) const {
    return {y, Op::da(x.v, z.v, y) * x.t + Op::db(x.v, z.v, y) * z.t};
  }
  template <class P>
  [[gnu::always_inline]] math::Dual dual(const P& p) const {
    return dual_at(a.dual(p), b.dual(p));
  }
  template <class P>
  [[gnu::always_inline]] void push_dual(P& p, math::Dual d) const {
    const math::Dual x = a.dual(p), z = b.dual(p), yd = dual_at(x, z);
    if constexpr (A::kLeaves > 0) a.push_dual(p, d * Op::da(x, z, yd));
    if constexpr (B::kLeaves > 0) b.push_dual(p, d * Op::db(x, z, yd));
  }
  const char* first_nonfinite() const {
    if (const char* n = a.first_nonfinite()) return n;
    if (const char* n = b.first_nonfinite()) return n;
    return std::isfinite(y) ? nullptr : Op::kName;
  }
};

}  // namespace detail

// ---- recording ----

/// \cond
struct Tape::Pusher {
  double* partial;
  int32_t* index;
  Generation gen;
  const Tape* tape;
  uint32_t count = 0;
  uint32_t constants = 0;  ///< only touched off the hot path
  void push(const Var& v, double d) {
    if (v.gen_ != gen) [[unlikely]] {
      if (v.gen_ != 0) tape->throw_foreign("operand", v.gen_);
      ++constants;  // its slot is the sink
    }
    partial[count] = d;
    index[count] = v.slot_ * 2 + (count == 0);  // (id << 1) | first operand of the statement
    ++count;
  }
};

/// Second-order recordings' pusher: stores each partial with its tangent, and sums the statement's
/// tangent from its operands'.
struct Tape::TangentPusher {
  double* partial;
  double* partial_tangent;
  int32_t* index;
  Generation gen;
  const Tape* tape;
  uint32_t count = 0;
  uint32_t constants = 0;
  double statement_tangent = 0.0;
  [[gnu::always_inline]] double tangent(const Var& v) const {
    if (v.gen_ == gen) return tape->tangent_of(v.slot_);
    if (v.gen_ != 0) tape->throw_foreign("operand", v.gen_);
    return 0.0;
  }
  [[gnu::always_inline]] void push(const Var& v, double d, double dt) {
    statement_tangent += d * tangent(v);  // 0 for a constant; TapeError for a foreign Var
    constants += v.gen_ == 0;
    partial[count] = d;
    partial_tangent[count] = dt;
    index[count] = v.slot_ * 2 + (count == 0);
    ++count;
  }
};

template <class E>
[[gnu::always_inline]] inline Tape::Id Tape::record_tangent(const E& expr) {
  constexpr size_t k = static_cast<size_t>(E::kLeaves);
  TangentPusher p = begin_second_order_statement(k);
  expr.push_dual(p, math::Dual{1.0, 0.0});
  return finish_second_order_statement(p, k, E::kName, detail::tls.anomaly ? expr.first_nonfinite() : nullptr);
}

// Forced inline: GCC leaves these out of line for statements of 3-6 operands (the stochastic
// volatility kernel), copying each expression tree to the stack and reading it back; inlined,
// recording costs about half (issue 8's measurement).
template <class E>
[[gnu::always_inline]] inline void Tape::record(const E& expr, Var& out) {
  constexpr size_t k = static_cast<size_t>(E::kLeaves);
  const size_t n = n_entries_;
  if (n + k > capacity_) [[unlikely]]
    grow(k);
  Pusher p{partial_ptr_ + n, index_ptr_ + n, generation_, this};
  expr.push(p, 1.0);
  if (p.constants == k) [[unlikely]]
    return;  // only constants: the result is a constant (the entries written stay unused)
  n_entries_ = n + k;
  if (n_stmts_ == kMaxIds) [[unlikely]]
    check_ids();
  out.slot_ = static_cast<int32_t>(n_stmts_++);
  out.gen_ = generation_;
  if (detail::tls.anomaly) [[unlikely]]
    name_slot(out.slot_, E::kName, expr.first_nonfinite());
  if (tangents_ != Tangents::none) [[unlikely]]
    record_statement_tangent(n, k);  // forward mode (second order never comes here)
}

inline void Tape::record_leaf(Var& out) {
  if (n_leaves_ == kMaxIds) [[unlikely]]
    check_ids();
  out.slot_ = static_cast<int32_t>(-++n_leaves_);  // a leaf records no entry; -1 is the sink
  out.gen_ = generation_;
}
/// \endcond

inline void Tape::set_tangent(const Var& leaf, double tangent) {
  if (!owns(leaf.gen_) || leaf.slot_ > -2 || tangents_ == Tangents::none) [[unlikely]]
    throw_not_a_leaf(leaf);
  const auto k = static_cast<size_t>(-leaf.slot_ - 1);
  if (k >= leaf_tangent_.size()) leaf_tangent_.resize(k + 1, 0.0);  // capacity kept across clear()
  leaf_tangent_[k] = tangent;
}

inline Var::Var(double value) : value_(value) {
  if (Tape* t = detail::tls.recording) [[likely]] {
    t->record_leaf(*this);
  } else if (detail::tls.grad_enabled) {  // a tape recording tangents, or none: Tape::active() throws
    const Tape::Id id = Tape::second_order_recording().record_tangent_leaf();
    slot_ = id.slot;
    gen_ = id.gen;
  }
}

template <Expression E>
[[gnu::always_inline]] inline Var::Var(const E& expr) : value_(expr.value()) {
  if (Tape* t = detail::tls.recording) [[likely]] {
    t->record(expr, *this);
  } else if (detail::tls.grad_enabled) {  // a tape recording tangents, or none: Tape::active() throws
    const Tape::Id id = Tape::second_order_recording().record_tangent(expr);
    slot_ = id.slot;
    gen_ = id.gen;
  }
}

/// Gradient of f with respect to each of wrt (one reverse sweep).
std::vector<double> gradient(const Var& f, std::span<const Var> wrt);
/// The same, with the Vars listed in braces: `gradient(f, {x, y})`.
inline std::vector<double> gradient(const Var& f, std::initializer_list<Var> wrt) {
  return gradient(f, std::span<const Var>(wrt.begin(), wrt.size()));
}

}  // namespace tapegrad

#include "autodiff/var_math.hpp"
