// Every differentiable op has a gradient check, by construction: the op list in autodiff/ops.def
// drives these tests, a missing case fails, a case that does not record the op it is filed under
// fails (the names its tape recorded, or its expression's ops), and a scan of the sources fails when
// an op is implemented but not listed.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "autodiff/autodiff.hpp"
#include "support/check.hpp"

using namespace tapegrad;

namespace {

const std::vector<std::string> kVarOps = {
#define TAPEGRAD_VAR_OP(name) #name,
#include "autodiff/ops.def"
};
const std::vector<std::string> kTensorOps = {
#define TAPEGRAD_TENSOR_OP(name) #name,
#include "autodiff/ops.def"
};

// The ops the running case recorded: tensor ops as the tape names them, scalar ops from the type of
// the case's expression (a statement records its whole expression tree).
std::set<std::string> recorded;

template <class E>
struct OpNames {  // Var, constants: no op
  static void add() {}
};
template <class Op, class A>
struct OpNames<detail::Unary<Op, A>> {
  static void add() {
    recorded.insert(Op::kName);
    OpNames<A>::add();
  }
};
template <class Op, class A, class B>
struct OpNames<detail::Binary<Op, A, B>> {
  static void add() {
    recorded.insert(Op::kName);
    OpNames<A>::add();
    OpNames<B>::add();
  }
};

/// A scalar op's case: a function using it and a point, checked to first and second order.
struct VarCase {
  VarFunction f;
  std::vector<double> x;
};
#define VAR_CASE(expr, ...)                      \
  VarCase {                                      \
    [](std::span<const Var> v) -> Var {          \
      const auto e = expr;                       \
      OpNames<std::decay_t<decltype(e)>>::add(); \
      return e;                                  \
    },                                           \
    {                                            \
      __VA_ARGS__                                \
    }                                            \
  }

// Inputs sit away from kinks (relu/abs at 0, min/max ties) and inside each domain.
const std::map<std::string, VarCase> kVarCases = {
    {"neg", VAR_CASE(-v[0] * v[0], 0.7)},
    {"sqrt", VAR_CASE(sqrt(v[0]), 1.3)},
    {"cbrt", VAR_CASE(cbrt(v[0]), -2.1)},
    {"exp", VAR_CASE(exp(v[0]), 0.4)},
    {"expm1", VAR_CASE(expm1(v[0]), -0.3)},
    {"log", VAR_CASE(log(v[0]), 2.5)},
    {"log1p", VAR_CASE(log1p(v[0]), 0.2)},
    {"sin", VAR_CASE(sin(v[0]), 0.9)},
    {"cos", VAR_CASE(cos(v[0]), 0.9)},
    {"tan", VAR_CASE(tan(v[0]), 0.6)},
    {"asin", VAR_CASE(asin(v[0]), 0.35)},
    {"acos", VAR_CASE(acos(v[0]), -0.45)},
    {"atan", VAR_CASE(atan(v[0]), 1.7)},
    {"sinh", VAR_CASE(sinh(v[0]), 0.8)},
    {"cosh", VAR_CASE(cosh(v[0]), -0.8)},
    {"tanh", VAR_CASE(tanh(v[0]), 0.3)},
    {"sigmoid", VAR_CASE(sigmoid(v[0]) + sigmoid(-3.0 * v[0]), 0.6)},
    {"softplus", VAR_CASE(softplus(v[0]) + softplus(-4.0 * v[0]), 0.6)},
    {"relu", VAR_CASE(relu(v[0]) + relu(-v[1]) * v[0], 0.6, 0.8)},
    {"abs", VAR_CASE(abs(v[0]) * abs(v[1]), 0.6, -0.8)},
    {"erf", VAR_CASE(erf(v[0]), 0.5)},
    {"erfc", VAR_CASE(erfc(v[0]), -0.5)},
    {"add", VAR_CASE((v[0] + v[1] + 2.0) * v[1], 0.5, -1.5)},  // times v[1]: a Hessian that is not 0
    {"sub", VAR_CASE((v[0] - v[1] - (1.0 - v[0])) * v[0], 0.5, -1.5)},
    {"mul", VAR_CASE(v[0] * v[1] * 3.0, 0.5, -1.5)},
    {"div", VAR_CASE(v[0] / v[1] + 2.0 / v[0] + v[1] / 4.0, 0.5, -1.5)},
    {"pow", VAR_CASE(pow(v[0], v[1]) + pow(v[0], 2.5) + pow(1.7, v[1]), 1.3, 0.7)},
    {"atan2", VAR_CASE(atan2(v[0], v[1]), 0.5, -1.5)},
    {"hypot", VAR_CASE(hypot(v[0], v[1]), 0.5, -1.5)},
    {"min", VAR_CASE(min(v[0], v[1]) + min(v[1], 0.2), 0.5, -1.5)},
    {"max", VAR_CASE(max(v[0], v[1]) + max(v[1], 0.2), 0.5, -1.5)},
};

std::mt19937_64 rng(7);
Array randn(const Shape& s, double scale = 1.0) { return Tensor::randn(s, rng, DType::f64, scale).value(); }
Array uniform(const Shape& s, double lo, double hi) { return Tensor::uniform(s, rng, lo, hi).value(); }
/// Normal entries pushed at least `gap` away from 0 (for kinks at 0).
Array away_from_zero(const Shape& s, double gap = 0.05) {
  Array a = randn(s);
  for (int64_t i = 0; i < a.numel(); ++i) a.set(i, a.at(i) + (a.at(i) >= 0 ? gap : -gap));
  return a;
}

using TensorCase = std::function<GradcheckResult()>;
/// A tensor op's case checks its first derivatives (gradcheck of f) and its second ones
/// (gradgradcheck of sum(square(f)) / 2, whose Hessian J^T J + sum_k f_k H_k needs the op's tangent
/// rule, J, and the derivatives of its tangent, H_k).
GradcheckResult check(const TensorFunction& f, std::vector<Array> inputs, GradcheckOptions options = {}) {
  const auto noting = [&f](std::span<const Tensor> t) {
    Tensor y = f(t);
    for (const char* name : Tape::active().tensor_op_names()) recorded.insert(name);
    return y;
  };
  GradcheckResult first = gradcheck(noting, inputs, options);
  if (!first) return first;
  const auto half_square = [&noting](std::span<const Tensor> t) { return sum(square(noting(t))) * 0.5; };
  return gradgradcheck(half_square, inputs, options);
}
#define FN(expr) [](std::span<const Tensor> t) -> Tensor { return expr; }

/// Binary ops: same shapes, both broadcast directions, and a scalar operand.
GradcheckResult check_binary(const TensorFunction& f, double lo = -1, double hi = 1) {
  for (auto [a, b] : {std::pair<Shape, Shape>{{2, 3}, {2, 3}}, {{2, 3}, {3}}, {{4, 1, 3}, {2, 1}}, {{}, {2, 2}}}) {
    auto r = check(f, {uniform(a, lo, hi), uniform(b, lo, hi)});
    if (!r) return r;
  }
  return {};
}

const std::map<std::string, TensorCase> kTensorCases = {
    {"add", [] { return check_binary(FN(t[0] + t[1])); }},
    {"sub", [] { return check_binary(FN(t[0] - t[1])); }},
    {"mul", [] { return check_binary(FN(t[0] * t[1])); }},
    {"div", [] { return check_binary(FN(t[0] / t[1]), 0.5, 2.0); }},
    {"pow", [] { return check_binary(FN(pow(t[0], t[1])), 0.5, 2.0); }},
    {"maximum",
     [] {
       return check(FN(maximum(t[0], t[1])), {randn({3, 4}), randn({4})});
     }},
    {"minimum",
     [] {
       return check(FN(minimum(t[0], t[1])), {randn({3, 4}), randn({3, 1})});
     }},
    {"add_scalar",
     [] {
       return check(FN(t[0] + 2.0 + (1.0 - t[0]) * t[0] - 0.5), {randn({3, 2})});
     }},
    {"mul_scalar", [] { return check(FN(t[0] * 3.0 + 0.5 * t[0] + t[0] / 4.0), {randn({5})}); }},
    {"pow_scalar",
     [] {
       return check(FN(pow(t[0], 1.5) + 2.0 / t[0]), {uniform({2, 3}, 0.5, 2.0)});
     }},
    {"neg",
     [] {
       return check(FN(-t[0] * t[0]), {randn({2, 2})});
     }},
    {"exp",
     [] {
       return check(FN(exp(t[0])), {randn({2, 3})});
     }},
    {"log",
     [] {
       return check(FN(log(t[0])), {uniform({2, 3}, 0.2, 3.0)});
     }},
    {"sqrt",
     [] {
       return check(FN(sqrt(t[0])), {uniform({2, 3}, 0.2, 3.0)});
     }},
    {"abs",
     [] {
       return check(FN(abs(t[0])), {away_from_zero({2, 3})});
     }},
    {"square",
     [] {
       return check(FN(square(t[0])), {randn({2, 3})});
     }},
    {"tanh",
     [] {
       return check(FN(tanh(t[0])), {randn({2, 3})});
     }},
    {"sigmoid",
     [] {
       return check(FN(sigmoid(t[0] * 4.0)), {randn({2, 3})});
     }},
    {"relu",
     [] {
       return check(FN(relu(t[0])), {away_from_zero({3, 3})});
     }},
    {"leaky_relu",
     [] {
       return check(FN(leaky_relu(t[0], 0.1)), {away_from_zero({3, 3})});
     }},
    {"softplus",
     [] {
       return check(FN(softplus(t[0] * 5.0)), {randn({2, 3})});
     }},
    {"gelu",
     [] {
       return check(FN(gelu(t[0] * 2.0)), {randn({2, 3})});
     }},
    {"clamp",
     [] {
       Array a = away_from_zero({4, 3}, 0.05);  // |a| > 0.05; keep away from the bounds +-0.5
       for (int64_t i = 0; i < a.numel(); ++i)
         if (std::abs(std::abs(a.at(i)) - 0.5) < 0.05) a.set(i, a.at(i) * 1.3);
       return check(FN(clamp(t[0], -0.5, 0.5)), {a});
     }},
    {"to_dtype",
     [] {  // float rounding needs a wide step and loose tolerances; the slope 3 is still checked
       return check(FN(to_dtype(to_dtype(t[0], DType::f32) * 3.0, DType::f64)), {Array(Shape{3}, {0.5, -1.0, 2.0})},
                    {.eps = 1e-2, .atol = 1e-4, .rtol = 1e-4});
     }},
    {"where",
     [] {
       return check(FN(where(gt(t[0], 0.0), t[0] * 2.0, t[1])), {away_from_zero({3, 4}), randn({4})});
     }},
    {"sum",
     [] {
       for (const TensorFunction& f : {TensorFunction(FN(sum(t[0]))), TensorFunction(FN(sum(t[0], {1}))),
                                       TensorFunction(FN(sum(t[0], {0, 2}, true))),
                                       TensorFunction(FN(mean(t[0], {-1}))), TensorFunction(FN(mean(t[0])))}) {
         auto r = check(f, {randn({2, 3, 4})});
         if (!r) return r;
       }
       return GradcheckResult{};
     }},
    {"max",
     [] {
       return check(FN(max(t[0], {1})), {randn({3, 5})});
     }},
    {"min",
     [] {
       return check(FN(min(t[0], {0}, true) + min(t[0])), {randn({3, 5})});
     }},
    {"logsumexp",
     [] {
       return check(FN(logsumexp(t[0], {1})), {randn({3, 4}, 3.0)});
     }},
    {"log_softmax",
     [] {
       auto r = check(FN(log_softmax(t[0], 0)), {randn({3, 4})});
       if (!r) return r;
       r = check(FN(log_softmax(t[0], 1)), {randn({2, 3, 4}, 3.0)});  // a middle axis: outer and inner
       if (!r) return r;
       return check(FN(softmax(t[0])), {randn({2, 5})});
     }},
    {"matmul",
     [] {
       auto r = check(FN(matmul(t[0], t[1])), {randn({3, 4}), randn({4, 2})});
       if (!r) return r;
       r = check(FN(matmul(t[0], t[1])), {randn({2, 3, 4}), randn({2, 4, 2})});
       if (!r) return r;
       return check(FN(matmul(t[0], t[1])), {randn({2, 3, 4}), randn({4, 5})});
     }},
    {"reshape",
     [] {
       return check(FN(reshape(t[0], {3, -1}) * reshape(t[0], {3, 4})), {randn({2, 6})});
     }},
    {"permute",
     [] {
       return check(FN(permute(t[0], {2, 0, 1}) * 1.5 + transpose(t[1])), {randn({2, 3, 4}), randn({3, 1})});
     }},
    {"slice",
     [] {
       return check(FN(slice(t[0], 1, 1, -1) * slice(t[0], -1, 0, 2)), {randn({3, 4})});
     }},
    {"concat",
     [] {
       auto r = check(FN(concat({t[0], t[1] * 2.0, t[0]}, 1)), {randn({2, 3}), randn({2, 1})});
       if (!r) return r;
       return check(FN(stack({t[0], t[1]}, 0)), {randn({2, 3}), randn({2, 3})});
     }},
    {"index_select",
     [] {
       const std::vector<int64_t> idx{2, 0, 2};
       return check([idx](std::span<const Tensor> t) { return index_select(t[0], 1, idx); }, {randn({2, 4})});
     }},
    {"derivative",
     [] {  // recorded by the tangent rules of unary and binary elementwise ops
       return check(FN(exp(t[0]) * sigmoid(t[0]) + pow(t[0], t[1])), {uniform({2, 3}, 0.5, 1.5), randn({3})});
     }},
    {"gather",
     [] {
       const std::vector<int64_t> idx{1, 0, 3, 3, 2, 0};
       return check([idx](std::span<const Tensor> t) { return gather(t[0], 1, idx, Shape{3, 2}); }, {randn({3, 4})});
     }},
};

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  REQUIRE_MESSAGE(in.good(), "cannot read " << path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// Each match's groups 1 and 2 (group 2 empty when it did not take part).
std::vector<std::pair<std::string, std::string>> matches(const std::string& text, const std::regex& re) {
  std::vector<std::pair<std::string, std::string>> found;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator(); ++it)
    found.emplace_back((*it)[1], (*it).size() > 2 ? (*it)[2].str() : "");
  return found;
}

}  // namespace

TEST_SUITE("op registry") {
  TEST_CASE("every scalar op passes its gradient check and its second-order check") {
    for (const auto& name : kVarOps) {
      CAPTURE(name);
      const auto it = kVarCases.find(name);
      REQUIRE_MESSAGE(it != kVarCases.end(), "scalar op '" << name << "' has no gradient-check case");
      recorded.clear();
      const VarCase& c = it->second;
      CHECK_GRADCHECK(gradcheck(c.f, c.x));
      CHECK_MESSAGE(recorded.count(name), "the case filed under scalar op '" << name << "' does not use it");
      CHECK_GRADCHECK(gradgradcheck(c.f, c.x));  // H v (the op's tangent rule) against differences of the gradient
    }
  }

  TEST_CASE("every tensor op passes its gradient check and its second-order check") {
    for (const auto& name : kTensorOps) {
      CAPTURE(name);
      const auto it = kTensorCases.find(name);
      REQUIRE_MESSAGE(it != kTensorCases.end(), "tensor op '" << name << "' has no gradient-check case");
      recorded.clear();
      CHECK_GRADCHECK(it->second());
      CHECK_MESSAGE(recorded.count(name), "the case filed under tensor op '" << name << "' does not record it");
    }
  }

  TEST_CASE("every op implemented in autodiff/ is in the op list") {
    const std::string dir = std::string(TAPEGRAD_SOURCE_DIR) + "/autodiff/";
    // The shared math: struct name -> op name (elementwise_math.hpp).
    std::map<std::string, std::string> math_name;
    for (const auto& [op, name] : matches(read_file(dir + "elementwise_math.hpp"),
                                          std::regex(R"re(TAPEGRAD_(?:UNARY|BINARY)\((\w+),\s*"(\w+)")re")))
      math_name[op] = name;
    REQUIRE(math_name.size() >= kVarOps.size());
    const std::set<std::string> var_listed(kVarOps.begin(), kVarOps.end());
    size_t var_found = 0;
    // The scalar ops: the arithmetic written out in var_math.hpp, the functions from the shared
    // lists of elementwise_math.hpp (TAPEGRAD_UNARY_FUNCTIONS, X(function, OpStruct)).
    std::vector<std::pair<std::string, std::string>> var_ops =
        matches(read_file(dir + "var_math.hpp"), std::regex(R"re(detail::(?:Unary|binary)<math::(\w+Op)[,>])re"));
    for (const auto& listed : matches(read_file(dir + "elementwise_math.hpp"), std::regex(R"re(X\(\w+, (\w+Op)\))re")))
      var_ops.push_back(listed);
    for (const auto& match : var_ops) {
      const std::string& op = match.first;  // a plain reference: CAPTURE's lambda cannot name a binding on clang 14
      CAPTURE(op);
      REQUIRE(math_name.count(op));
      ++var_found;
      CHECK_MESSAGE(var_listed.count(math_name[op]),
                    "scalar op '" << math_name[op] << "' is missing from autodiff/ops.def");
    }
    CHECK(var_found >= kVarOps.size());  // the scan itself works
    const std::set<std::string> tensor_listed(kTensorOps.begin(), kTensorOps.end());
    // An op records under a literal name, or under its math struct's name unless it passes its own.
    const std::regex literal(R"re((?:OpRecord op|unary_op|binary_op|strided_view|extremum)\(\s*"(\w+)")re");
    const std::regex from_math(R"re((?:unary|binary)_math<math::(\w+)>\([^)"]*(?:"(\w+)")?)re");
    size_t found = 0;
    // Every source file under autodiff/, so that an op added in a new file is found too.
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
      if (entry.path().extension() != ".cpp" && entry.path().extension() != ".hpp") continue;
      const std::string text = read_file(entry.path().string());
      std::vector<std::string> names;
      for (const auto& [name, unused] : matches(text, literal)) names.push_back(name);
      for (const auto& [op, own_name] : matches(text, from_math))
        names.push_back(own_name.empty() ? math_name[op] : own_name);
      for (const auto& name : names) {
        CAPTURE(name);
        ++found;
        CHECK_MESSAGE(tensor_listed.count(name), "tensor op '" << name << "' is missing from autodiff/ops.def");
      }
    }
    CHECK(found >= kTensorOps.size());  // the scan itself works
  }
}
