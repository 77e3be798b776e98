#pragma once
/// \file
/// Reverse mode over any number type T, for the nestings the scalar tape cannot do itself:
/// `math::reverse_gradient<Var>` is reverse over reverse (the sweep's arithmetic runs on Vars, so
/// the scalar tape records it and a second sweep differentiates the gradient), and
/// `reverse_gradient<math::Dual>` forward over reverse without a tape. Each call records f on a
/// graph of its own: every value of type `math::Reverse<T>` is a node with its operands and its
/// partials (of type T, from the op structs of autodiff/elementwise_math.hpp, so no derivative is
/// written twice), and one sweep backwards gives the adjoints. A gradient of plain doubles belongs on
/// the scalar tape (Var), which is much faster.
///
///   tapegrad::Tape tape;                       // the outer reverse mode
///   tapegrad::Var x = 0.5;
///   auto g = tapegrad::math::reverse_gradient<tapegrad::Var>(
///       [](std::span<const tapegrad::math::Reverse<tapegrad::Var>> v) { return v[0] * sin(v[0]); },
///       std::vector<tapegrad::Var>{x});        // g[0] = sin x + x cos x, as a Var
///   double second = tapegrad::gradient(g[0], {x})[0];  // d2/dx2 (x sin x)
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include "autodiff/dual.hpp"
#include "autodiff/error.hpp"

namespace tapegrad::math {

template <class T>
class ReverseGraph;

/// A value of type T (T{} is zero) recorded on the reverse_gradient call in progress on this thread (its graph):
/// a node of that graph, or a constant.
template <class T>
struct Reverse {
  static constexpr uint32_t kConstant = 0xffffffffu;  ///< the node of a constant (none)
  T v{};                                              ///< the value
  uint32_t node = kConstant;                          ///< its node in the graph, or kConstant
  uint64_t graph = 0;                                 ///< the graph's id (which reverse_gradient call), 0 for constants
  constexpr Reverse() = default;
  /// A constant (nothing to differentiate); implicit, so that literals and T values mix in.
  Reverse(T value) : v(std::move(value)) {}  // NOLINT
  /// A constant from a plain number.
  template <class U>
  requires(std::is_arithmetic_v<U> && !std::is_same_v<U, T>) Reverse(U value) : v(T(value)) {}  // NOLINT
  /// A node of a graph (ReverseGraph makes these).
  Reverse(T value, uint32_t node_index, uint64_t graph_id) : v(std::move(value)), node(node_index), graph(graph_id) {}

  ///@{
  /// Arithmetic, each from its op struct.
  friend Reverse operator+(const Reverse& a, const Reverse& b) { return ReverseGraph<T>::template apply<AddOp>(a, b); }
  friend Reverse operator-(const Reverse& a, const Reverse& b) { return ReverseGraph<T>::template apply<SubOp>(a, b); }
  friend Reverse operator*(const Reverse& a, const Reverse& b) { return ReverseGraph<T>::template apply<MulOp>(a, b); }
  friend Reverse operator/(const Reverse& a, const Reverse& b) { return ReverseGraph<T>::template apply<DivOp>(a, b); }
  friend Reverse operator-(const Reverse& a) { return ReverseGraph<T>::template apply<NegOp>(a); }
  ///@}
  ///@{
  /// Comparisons compare values and record nothing.
  friend bool operator==(const Reverse& a, const Reverse& b) { return a.v == b.v; }
  friend bool operator!=(const Reverse& a, const Reverse& b) { return a.v != b.v; }
  friend bool operator<(const Reverse& a, const Reverse& b) { return a.v < b.v; }
  friend bool operator>(const Reverse& a, const Reverse& b) { return a.v > b.v; }
  friend bool operator<=(const Reverse& a, const Reverse& b) { return a.v <= b.v; }
  friend bool operator>=(const Reverse& a, const Reverse& b) { return a.v >= b.v; }
  ///@}
};

/// The graph one reverse_gradient call records f on: per node, up to two operands and the partials
/// of the node by them. Active on its thread while it lives (the innermost call's, per T).
template <class T>
class ReverseGraph {
 public:
  ReverseGraph() : s_(take_storage()), outer_(active_), id_(++last_id_) { active_ = this; }
  ~ReverseGraph() {
    active_ = outer_;
    try {
      spare_.push_back(std::move(s_));  // kept for this thread's next call
    } catch (...) {                     // the list could not grow: the storage is freed instead
    }
  }
  ReverseGraph(const ReverseGraph&) = delete;
  ReverseGraph& operator=(const ReverseGraph&) = delete;

  /// A new input (a node without operands).
  Reverse<T> input(const T& value) { return add(value, Reverse<T>::kConstant, T{}, Reverse<T>::kConstant, T{}); }

  /// Op at a: Op's value, recorded with its partial when a is a node.
  template <class Op>
  static Reverse<T> apply(const Reverse<T>& a) {
    T y = op_value(Op{}, a.v);
    if (a.node == Reverse<T>::kConstant) return Reverse<T>(std::move(y));
    ReverseGraph& graph = of(a.graph);
    T da = Op::partial(a.v, y);
    return graph.add(std::move(y), a.node, std::move(da), Reverse<T>::kConstant, T{});
  }
  /// Op at (a, b): Op's value, recorded with the partials by its nodes.
  template <class Op>
  static Reverse<T> apply(const Reverse<T>& a, const Reverse<T>& b) {
    T y = op_value(Op{}, a.v, b.v);
    const bool a_node = a.node != Reverse<T>::kConstant, b_node = b.node != Reverse<T>::kConstant;
    if (!a_node && !b_node) return Reverse<T>(std::move(y));
    ReverseGraph& graph = of(a_node ? a.graph : b.graph);
    if (a_node && b_node && a.graph != b.graph) throw_foreign();
    T da = a_node ? Op::da(a.v, b.v, y) : T{};
    T db = b_node ? Op::db(a.v, b.v, y) : T{};
    return graph.add(std::move(y), a.node, std::move(da), b.node, std::move(db));
  }

  /// d result / d input for the first `inputs` nodes: one sweep backwards from result, each node's
  /// adjoint passed to its operands times the partials (T arithmetic: on Vars, recorded).
  std::vector<T> gradient(const Reverse<T>& result, size_t inputs) {
    const std::vector<Node>& nodes = s_->nodes;
    std::vector<T>& adjoint = s_->adjoint;
    std::vector<bool>& reached = s_->reached;
    adjoint.assign(nodes.size(), T{});    // T{}: zero, and on Vars a constant
    reached.assign(nodes.size(), false);  // an adjoint is assigned at its first contribution
    if (result.node != Reverse<T>::kConstant) {
      if (result.graph != id_) throw_foreign();
      adjoint[result.node] = T(1.0);
      reached[result.node] = true;
      for (size_t n = result.node + 1; n-- > inputs;) {
        if (!reached[n]) continue;
        const Node& node = nodes[n];
        if (node.a != Reverse<T>::kConstant) pass(adjoint, reached, node.a, adjoint[n] * node.da);
        if (node.b != Reverse<T>::kConstant) pass(adjoint, reached, node.b, adjoint[n] * node.db);
      }
    }
    return std::vector<T>(adjoint.begin(), adjoint.begin() + static_cast<std::ptrdiff_t>(inputs));
  }

 private:
  struct Node {
    uint32_t a, b;  // operands (kConstant: none)
    T da, db;       // the node's partials by them
  };
  /// What a call records and sweeps with, kept for the thread's next call: a warm call allocates
  /// only its result.
  struct Storage {
    std::vector<Node> nodes;
    std::vector<T> adjoint;
    std::vector<bool> reached;
  };
  static std::unique_ptr<Storage> take_storage() {
    if (spare_.empty()) return std::make_unique<Storage>();
    std::unique_ptr<Storage> storage = std::move(spare_.back());
    spare_.pop_back();
    storage->nodes.clear();
    return storage;
  }
  static ReverseGraph& of(uint64_t id) {
    if (!active_ || active_->id_ != id) throw_foreign();
    return *active_;
  }
  [[noreturn]] static void throw_foreign() {
    raise<TapeError>(
        "reverse_gradient: a Reverse value from another reverse_gradient call (an enclosing one, or one that "
        "has returned) met this call's; each call differentiates the values its function derives from its own "
        "inputs");
  }
  Reverse<T> add(T value, uint32_t a, T da, uint32_t b, T db) {
    std::vector<Node>& nodes = s_->nodes;
    if (nodes.size() >= Reverse<T>::kConstant - 1)
      raise<TapeError>("reverse_gradient: the function recorded more than 2^32 - 2 operations");
    nodes.push_back({a, b, std::move(da), std::move(db)});
    return {std::move(value), static_cast<uint32_t>(nodes.size() - 1), id_};
  }
  static void pass(std::vector<T>& adjoint, std::vector<bool>& reached, uint32_t to, T contribution) {
    if (reached[to]) {
      adjoint[to] = adjoint[to] + contribution;
    } else {
      adjoint[to] = std::move(contribution);
      reached[to] = true;
    }
  }
  std::unique_ptr<Storage> s_;
  ReverseGraph* outer_;
  uint64_t id_;
  static inline thread_local ReverseGraph* active_ = nullptr;
  static inline thread_local uint64_t last_id_ = 0;
  static inline thread_local std::vector<std::unique_ptr<Storage>> spare_;  // one per call depth
};

/// The gradient of f at x by reverse mode over the number type T: f takes
/// `std::span<const Reverse<T>>` and returns a `Reverse<T>` derived from those inputs (templated
/// code written once runs on it). The gradient is T: on Vars, recorded on the scalar tape.
template <class T, class F>
std::vector<T> reverse_gradient(const F& f, std::span<const T> x) {
  ReverseGraph<T> graph;
  std::vector<Reverse<T>> inputs;
  inputs.reserve(x.size());
  for (const T& xi : x) inputs.push_back(graph.input(xi));
  const Reverse<T> result = f(std::span<const Reverse<T>>(inputs));
  return graph.gradient(result, inputs.size());
}

///@{
/// The elementwise functions on Reverse values, each from its op struct (the list:
/// elementwise_math.hpp).
#define TAPEGRAD_REVERSE_UNARY(fn, Op)             \
  template <class T>                               \
  Reverse<T> fn(const Reverse<T>& x) {             \
    return ReverseGraph<T>::template apply<Op>(x); \
  }
#define TAPEGRAD_REVERSE_BINARY(fn, Op)                     \
  template <class T>                                        \
  Reverse<T> fn(const Reverse<T>& a, const Reverse<T>& b) { \
    return ReverseGraph<T>::template apply<Op>(a, b);       \
  }
TAPEGRAD_UNARY_FUNCTIONS(TAPEGRAD_REVERSE_UNARY)
TAPEGRAD_BINARY_FUNCTIONS(TAPEGRAD_REVERSE_BINARY)
#undef TAPEGRAD_REVERSE_UNARY
#undef TAPEGRAD_REVERSE_BINARY
///@}

}  // namespace tapegrad::math
