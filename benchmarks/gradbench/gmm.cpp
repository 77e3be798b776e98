// GradBench's gmm eval (ADBench's Gaussian mixture): the negative log-likelihood of n points x in d
// dimensions under k components (weights alpha, means mu, inverse covariance factors Q_k: the
// diagonal exp(q_k) and the strict lower triangle l_k, column by column) plus a Wishart prior
// (objective), and its gradient in alpha, mu, q and l (jacobian), by tensor ops: Q built with
// index_select, Q (x_i - mu_k) for every pair as one batched product, logsumexp over components.
#include <cmath>
#include <numbers>
#include <vector>

#include "autodiff/autodiff.hpp"
#include "tool.hpp"
#ifdef TAPEGRAD_GRADBENCH_CHECKOUT  // its primal is the one timed (tool.hpp)
#include "gradbench/evals/gmm.hpp"
#endif

namespace {

using gradbench_tool::json;

/// The eval's input, rows flattened: mu and q [k, d], l [k, d(d-1)/2], x [n, d].
struct Input {
  int64_t d, k, n;
  std::vector<double> alpha, mu, q, l, x;
  double gamma;
  int64_t m;
  explicit Input(const json& in)
      : d(in.at("d").get<int64_t>()),
        k(in.at("k").get<int64_t>()),
        n(in.at("n").get<int64_t>()),
        alpha(in.at("alpha").get<std::vector<double>>()),
        gamma(in.at("gamma").get<double>()),
        m(in.at("m").get<int64_t>()) {
    if (d < 1 || k < 1 || n < 1) throw std::invalid_argument("gmm: d, k and n must be positive");
    flatten(in.at("mu"), k, d, mu, "mu");
    flatten(in.at("q"), k, d, q, "q");
    flatten(in.at("l"), k, d * (d - 1) / 2, l, "l");
    flatten(in.at("x"), n, d, x, "x");
    if (static_cast<int64_t>(alpha.size()) != k) throw std::invalid_argument("gmm: alpha needs k values");
  }
  static void flatten(const json& rows, int64_t count, int64_t width, std::vector<double>& out, const char* name) {
    if (!rows.is_array() || static_cast<int64_t>(rows.size()) != count)
      throw std::invalid_argument(std::string("gmm: ") + name + " has the wrong number of rows");
    for (const json& row : rows) {
      const auto values = row.get<std::vector<double>>();
      if (static_cast<int64_t>(values.size()) != width)
        throw std::invalid_argument(std::string("gmm: a row of ") + name + " has the wrong length");
      out.insert(out.end(), values.begin(), values.end());
    }
  }
  /// The terms that depend on no parameter: -n d log(2 pi) / 2 and k times the prior's constant.
  double constant() const {
    const double wishart_n = static_cast<double>(d + m + 1), dd = static_cast<double>(d);
    double log_gamma = 0.25 * dd * (dd - 1) * std::log(std::numbers::pi);
    for (int64_t j = 1; j <= d; ++j) log_gamma += std::lgamma(0.5 * wishart_n + 0.5 * static_cast<double>(1 - j));
    const double c = wishart_n * dd * (std::log(gamma) - 0.5 * std::log(2.0)) - log_gamma;
    return -static_cast<double>(n) * dd * 0.5 * std::log(2 * std::numbers::pi) + static_cast<double>(k) * c;
  }
};

/// The objective on tensors (leaves alpha [k], mu [k, d], q [k, d], l [k, d(d-1)/2]).
struct Model {
  const Input& in;
  tapegrad::Tensor alpha, mu, q, l, x, zero;
  std::vector<int64_t> q_entries;  // Q_k's d x d entries as positions in [exp(q_k), l_k, 0]
  explicit Model(const Input& input) : in(input) {
    using tapegrad::Array, tapegrad::Shape, tapegrad::Tensor;
    const int64_t d = in.d, k = in.k, l_size = d * (d - 1) / 2;
    alpha = Tensor(Array(Shape{k, 1}, in.alpha), true);
    mu = Tensor(Array(Shape{1, k, d}, in.mu), true);
    q = Tensor(Array(Shape{k, d}, in.q), true);
    l = Tensor(Array(Shape{k, l_size}, in.l), true);
    x = Tensor(Array(Shape{in.n, 1, d}, in.x));
    zero = Tensor::zeros({k, 1});
    q_entries.assign(static_cast<size_t>(d * d), d + l_size);  // above the diagonal: the 0
    int64_t next = d;
    for (int64_t i = 0; i < d; ++i) {  // column i of the lower triangle: rows i+1 .. d-1
      q_entries[static_cast<size_t>(i * d + i)] = i;
      for (int64_t j = i + 1; j < d; ++j) q_entries[static_cast<size_t>(j * d + i)] = next++;
    }
  }
  tapegrad::Tensor objective() const {
    using tapegrad::Tensor;
    const int64_t d = in.d, k = in.k;
    const Tensor q_diagonal = exp(q);
    const std::array<Tensor, 3> packed_parts{q_diagonal, l, zero};
    const Tensor factors = reshape(index_select(concat(packed_parts, 1), 1, q_entries), {k, d, d});  // Q_k
    const Tensor centered = permute(x - mu, {1, 0, 2});                // [k, n, d]: x_i - mu_k
    const Tensor scaled = matmul(centered, transpose(factors, 1, 2));  // Q_k (x_i - mu_k)
    const int last_axis[] = {2}, components[] = {0}, rows[] = {1};
    const Tensor sum_q = sum(q, rows, true);                                         // [k, 1]
    const Tensor main_term = alpha + sum_q - 0.5 * sum(scaled * scaled, last_axis);  // [k, n]
    const Tensor likelihood = sum(logsumexp(main_term, components)) - static_cast<double>(in.n) * logsumexp(alpha);
    const double half_gamma_squared = 0.5 * in.gamma * in.gamma;
    const Tensor prior =
        half_gamma_squared * (sum(q_diagonal * q_diagonal) + sum(l * l)) - static_cast<double>(in.m) * sum(sum_q);
    return likelihood - prior + in.constant();
  }
};

struct Objective {
  using Output = double;
  Input in;
  tapegrad::Tape tape;
  Model model;
  explicit Objective(const json& input) : in(input), model(in) {}
  void compute(double& value) {
    tape.clear();
    const tapegrad::NoGradGuard values_only;
    value = model.objective().item();
  }
};

struct Jacobian {
  struct Output {
    int64_t d = 0, k = 0;
    std::vector<double> alpha, mu, q, l;
  };
  Input in;
  tapegrad::Tape tape;
  Model model;
  explicit Jacobian(const json& input) : in(input), model(in) {}
  void compute(Output& out) {
    tape.clear();
    for (tapegrad::Tensor* p : {&model.alpha, &model.mu, &model.q, &model.l}) p->zero_grad();
    model.objective().backward();
    out.d = in.d;
    out.k = in.k;
    gradbench_tool::copy_gradient(model.alpha, out.alpha);
    gradbench_tool::copy_gradient(model.mu, out.mu);
    gradbench_tool::copy_gradient(model.q, out.q);
    gradbench_tool::copy_gradient(model.l, out.l);
  }
};

/// GradBench's layout: mu, q and l as one row per component.
void to_json(json& j, const Jacobian::Output& out) {
  auto rows = [&](const std::vector<double>& flat) {
    const auto width = static_cast<int64_t>(flat.size()) / std::max<int64_t>(out.k, 1);
    json r = json::array();
    for (int64_t i = 0; i < out.k; ++i)
      r.push_back(std::vector<double>(flat.begin() + i * width, flat.begin() + (i + 1) * width));
    return r;
  };
  j = {{"alpha", out.alpha}, {"mu", rows(out.mu)}, {"q", rows(out.q)}, {"l", rows(out.l)}};
}

}  // namespace

int main(int argc, char** argv) {
  return gradbench_tool::tool_main(argc, argv,
                                   {{"objective", gradbench_tool::run<Objective, TAPEGRAD_CHECKOUTS(gmm::Objective)>},
                                    {"jacobian", gradbench_tool::run<Jacobian>}});
}
