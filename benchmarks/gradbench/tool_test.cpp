// Runs the GradBench tool's programs as GradBench would (`<eval> INPUT.json FUNCTION`) on inputs of
// GradBench's format written here, and checks their outputs: primals against formulas computed
// here, derivatives against central differences of those, the timing lines, and the errors.
// Usage: gradbench_tool_test BIN_DIR WORK_DIR. Exits non-zero on failure.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

namespace {

using json = nlohmann::json;
int failures = 0;
std::string bin, work;

void check(bool ok, const std::string& what) {
  if (!ok) {
    std::cerr << "FAILED: " << what << '\n';
    ++failures;
  }
}

struct Result {
  int status = -1;
  std::vector<json> lines;  // stdout, one JSON value per line
};

Result run(const std::string& eval, const json& input, const std::string& function) {
  const std::string path = work + "/" + eval + "_input.json";
  std::ofstream(path) << input.dump();
  Result r;
  FILE* pipe = popen((bin + "/" + eval + " " + path + " " + function + " 2>/dev/null").c_str(), "r");
  if (!pipe) return r;
  std::string line;
  for (int c; (c = std::fgetc(pipe)) != EOF;) {
    if (c != '\n') {
      line += static_cast<char>(c);
      continue;
    }
    r.lines.push_back(json::parse(line, nullptr, false));
    line.clear();
  }
  const int status = pclose(pipe);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// The output line of a successful run, and its timing lines checked: a prepare line, then one
// evaluate line per run.
json output_of(const Result& r, size_t runs, const std::string& what) {
  check(r.status == 0, what + ": exit status 0");
  check(r.lines.size() == 2 + runs, what + ": one output line, a prepare line and one evaluate line per run");
  if (r.status != 0 || r.lines.size() < 2) return json();
  check(r.lines[1].value("name", "") == "prepare" && r.lines[1]["nanoseconds"].is_number_integer(),
        what + ": the prepare line");
  for (size_t i = 2; i < r.lines.size(); ++i)
    check(r.lines[i].value("name", "") == "evaluate" && r.lines[i]["nanoseconds"].get<long>() >= 0,
          what + ": an evaluate line");
  return r.lines[0];
}

bool close(double a, double b, double tolerance) { return std::abs(a - b) <= tolerance * (1 + std::abs(b)); }

// (f(x + h e_i) - f(x - h e_i)) / 2h
template <class F>
double central_difference(const F& f, std::vector<double> x, size_t i, double h) {
  x[i] += h;
  const double up = f(x);
  x[i] -= 2 * h;
  return (up - f(x)) / (2 * h);
}

double lse(const std::vector<double>& x) {  // long double sums, shifted by the largest element
  long double top = x[0], sum = 0;
  for (const double v : x) top = std::max<long double>(top, v);
  for (const double v : x) sum += std::exp(static_cast<long double>(v) - top);
  return static_cast<double>(top + std::log(sum));
}

void check_hello() {
  const json square = output_of(run("hello", 3.0, "square"), 1, "hello square");
  check(square == 9.0, "hello: square(3) = 9");
  const double h = 1e-5, want = ((3 + h) * (3 + h) - (3 - h) * (3 - h)) / (2 * h);
  const json twice = output_of(run("hello", 3.0, "double"), 1, "hello double");
  check(twice.is_number() && close(twice.get<double>(), want, 1e-8), "hello: double(3) = d(x^2)/dx at 3");
}

void check_lse() {
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> value(-100, 100);  // the eval's range
  std::vector<double> x(40);
  for (double& v : x) v = value(rng);
  const json input = {{"x", x}, {"min_runs", 3}, {"min_seconds", 0}};
  const json primal = output_of(run("lse", input, "primal"), 3, "lse primal");
  check(primal.is_number() && close(primal.get<double>(), lse(x), 1e-14), "lse: the primal");
  const json gradient = output_of(run("lse", input, "gradient"), 3, "lse gradient");
  check(gradient.is_array() && gradient.size() == x.size(), "lse: one partial per element");
  if (!gradient.is_array() || gradient.size() != x.size()) return;
  for (size_t i = 0; i < x.size(); ++i) {  // central differences of the formula above
    const double want = central_difference(lse, x, i, 1e-4);
    check(std::abs(gradient[i].get<double>() - want) < 1e-8, "lse: partial " + std::to_string(i));
  }
}

double llsq(const std::vector<double>& x, int n) {  // 1/2 sum_i (sign(t_i) - sum_j x_j t_i^j)^2
  double sum = 0;
  for (int i = 0; i < n; ++i) {
    const double t = -1 + 2.0 * i / (n - 1);
    double r = (0 < t) - (t < 0);
    for (size_t j = 0; j < x.size(); ++j) r -= x[j] * std::pow(t, static_cast<double>(j));
    sum += r * r;
  }
  return sum / 2;
}

void check_llsq() {
  const std::vector<double> x{0.3, -1.2, 0.8, 2.0, -0.5};
  const int n = 7;  // t = 0 is one of the points: sign 0
  const json input = {{"x", x}, {"n", n}};
  const json primal = output_of(run("llsq", input, "primal"), 1, "llsq primal");
  check(primal.is_number() && close(primal.get<double>(), llsq(x, n), 1e-13), "llsq: the primal");
  const json gradient = output_of(run("llsq", input, "gradient"), 1, "llsq gradient");
  check(gradient.is_array() && gradient.size() == x.size(), "llsq: one partial per coefficient");
  if (!gradient.is_array() || gradient.size() != x.size()) return;
  for (size_t j = 0; j < x.size(); ++j) {
    const double want = central_difference([n](const std::vector<double>& v) { return llsq(v, n); }, x, j, 1e-5);
    check(std::abs(gradient[j].get<double>() - want) < 1e-7 * (1 + std::abs(want)),
          "llsq: partial " + std::to_string(j));
  }
  check(run("llsq", {{"x", x}, {"n", 1}}, "gradient").status == 1, "llsq: one point exits 1");
}

// det by Gaussian elimination with partial pivoting, in long double: an algorithm other than the
// tool's expansion in minors.
double det(std::vector<double> a, size_t ell) {
  std::vector<long double> m(a.begin(), a.end());
  long double product = 1;
  for (size_t c = 0; c < ell; ++c) {
    size_t pivot = c;
    for (size_t r = c + 1; r < ell; ++r)
      if (std::abs(m[r * ell + c]) > std::abs(m[pivot * ell + c])) pivot = r;
    if (pivot != c) {
      for (size_t k = 0; k < ell; ++k) std::swap(m[c * ell + k], m[pivot * ell + k]);
      product = -product;
    }
    product *= m[c * ell + c];
    for (size_t r = c + 1; r < ell; ++r) {
      const long double factor = m[r * ell + c] / m[c * ell + c];
      for (size_t k = c; k < ell; ++k) m[r * ell + k] -= factor * m[c * ell + k];
    }
  }
  return static_cast<double>(product);
}

void check_det() {
  const size_t ell = 5;
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> value(0, 1);  // the eval's range
  std::vector<double> a(ell * ell);
  for (double& v : a) v = value(rng);
  const json input = {{"A", a}, {"ell", ell}, {"min_runs", 2}};
  const json primal = output_of(run("det", input, "primal"), 2, "det primal");
  check(primal.is_number() && close(primal.get<double>(), det(a, ell), 1e-13), "det: the primal");
  const json gradient = output_of(run("det", input, "gradient"), 2, "det gradient");
  check(gradient.is_array() && gradient.size() == a.size(), "det: one partial per element");
  for (size_t i = 0; gradient.is_array() && i < std::min(gradient.size(), a.size()); ++i) {
    const double want = central_difference([](const std::vector<double>& v) { return det(v, ell); }, a, i, 1e-5);
    check(std::abs(gradient[i].get<double>() - want) < 1e-8, "det: partial " + std::to_string(i));
  }
  const json one = output_of(run("det", {{"A", {2.5}}, {"ell", 1}}, "gradient"), 1, "det of 1 x 1");
  check(one == json::array({1.0}), "det: d a / d a = 1 for a 1 x 1 matrix");
  check(run("det", {{"A", {1.0, 2.0, 3.0}}, {"ell", 2}}, "primal").status == 1, "det: 3 values for 2 x 2 exits 1");
}

// ADBench's LSTM loss, written from its definition with the gates computed as vectors: params
// holds the l x 8b main parameters and then the 3 x b extra ones.
struct Lstm {
  int l, c, b;
  std::vector<double> state, sequence;
  double loss(const std::vector<double>& params) const {
    auto sigmoid = [](double x) { return 1 / (1 + std::exp(-x)); };
    const double* extra = params.data() + 8 * l * b;
    std::vector<double> h = state, x(static_cast<size_t>(b)), y(static_cast<size_t>(b));
    double total = 0;
    for (int t = 0; t + 1 < c; ++t) {
      for (int i = 0; i < b; ++i) x[i] = sequence[t * b + i] * extra[i];
      for (int layer = 0; layer < l; ++layer) {
        const double* p = params.data() + 8 * b * layer;
        double* hidden = h.data() + 2 * b * layer;
        double* cell = hidden + b;
        std::vector<double> gate[4];  // forget, in, out, change
        for (int g = 0; g < 4; ++g)
          for (int i = 0; i < b; ++i) {
            const double pre = (g == 1 || g == 3 ? hidden[i] : x[i]) * p[g * b + i] + p[(4 + g) * b + i];
            gate[g].push_back(g == 3 ? std::tanh(pre) : sigmoid(pre));
          }
        for (int i = 0; i < b; ++i) {
          cell[i] = gate[0][i] * cell[i] + gate[1][i] * gate[3][i];
          hidden[i] = gate[2][i] * std::tanh(cell[i]);
          x[i] = hidden[i];
        }
      }
      double normaliser = 2;
      for (int i = 0; i < b; ++i) normaliser += std::exp(y[i] = x[i] * extra[b + i] + extra[2 * b + i]);
      for (int i = 0; i < b; ++i) total += sequence[(t + 1) * b + i] * (y[i] - std::log(normaliser));
    }
    return -total / ((c - 1) * b);
  }
  json input(const std::vector<double>& params) const {
    auto rows = [](const double* v, int count, int width) {
      json r = json::array();
      for (int i = 0; i < count; ++i) r.push_back(std::vector<double>(v + i * width, v + (i + 1) * width));
      return r;
    };
    return {{"main_params", rows(params.data(), 2 * l, 4 * b)},
            {"extra_params", rows(params.data() + 8 * l * b, 3, b)},
            {"state", rows(state.data(), 2 * l, b)},
            {"sequence", rows(sequence.data(), c, b)}};
  }
};

void check_lstm() {
  Lstm m{.l = 2, .c = 5, .b = 3, .state = {}, .sequence = {}};
  std::mt19937_64 rng(17);
  std::uniform_real_distribution<double> value(0, 1);  // the eval's range
  for (int i = 0; i < 2 * m.l * m.b; ++i) m.state.push_back(value(rng));
  for (int i = 0; i < m.c * m.b; ++i) m.sequence.push_back(value(rng) < 0.5 ? 0.0 : 1.0);
  std::vector<double> params(static_cast<size_t>(8 * m.l * m.b + 3 * m.b));
  for (double& v : params) v = value(rng);
  const json objective = output_of(run("lstm", m.input(params), "objective"), 1, "lstm objective");
  check(objective.is_number() && close(objective.get<double>(), m.loss(params), 1e-13), "lstm: the objective");
  const json jacobian = output_of(run("lstm", m.input(params), "jacobian"), 1, "lstm jacobian");
  check(jacobian.is_array() && jacobian.size() == params.size(), "lstm: one partial per parameter");
  for (size_t i = 0; jacobian.is_array() && i < std::min(jacobian.size(), params.size()); ++i) {
    const double want = central_difference([&m](const std::vector<double>& p) { return m.loss(p); }, params, i, 1e-5);
    check(std::abs(jacobian[i].get<double>() - want) < 1e-9, "lstm: partial " + std::to_string(i));
  }
  json ragged = m.input(params);
  ragged["state"][1].push_back(0.5);
  check(run("lstm", ragged, "objective").status == 1, "lstm: a ragged state exits 1");
}

// y(t = 2) of y' = f(x, y), f_0 = x_0, f_i = x_i y_{i-1}, y(0) = 0, by s steps of classic RK4.
std::vector<double> ode(const std::vector<double>& x, int s) {
  const size_t n = x.size();
  auto f = [&](const std::vector<double>& y) {
    std::vector<double> z(n);
    for (size_t i = 0; i < n; ++i) z[i] = i == 0 ? x[0] : x[i] * y[i - 1];
    return z;
  };
  auto plus = [&](const std::vector<double>& y, double a, const std::vector<double>& k) {
    std::vector<double> r(n);
    for (size_t i = 0; i < n; ++i) r[i] = y[i] + a * k[i];
    return r;
  };
  const double h = 2.0 / s;
  std::vector<double> y(n, 0.0);
  for (int step = 0; step < s; ++step) {
    const auto k1 = f(y), k2 = f(plus(y, h / 2, k1)), k3 = f(plus(y, h / 2, k2)), k4 = f(plus(y, h, k3));
    for (size_t i = 0; i < n; ++i) y[i] += h / 6 * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]);
  }
  return y;
}

void check_ode() {
  const std::vector<double> x{0.7, 1.3, -0.4, 0.9, 1.1};
  const int s = 3;
  const json input = {{"x", x}, {"s", s}};
  const json primal = output_of(run("ode", input, "primal"), 1, "ode primal");
  const std::vector<double> y = ode(x, s);
  check(primal.is_array() && primal.size() == x.size(), "ode: the primal is y");
  for (size_t i = 0; primal.is_array() && i < std::min(primal.size(), y.size()); ++i)
    check(close(primal[i].get<double>(), y[i], 1e-13), "ode: y_" + std::to_string(i));
  const json gradient = output_of(run("ode", input, "gradient"), 1, "ode gradient");
  check(gradient.is_array() && gradient.size() == x.size(), "ode: one partial per variable");
  for (size_t j = 0; gradient.is_array() && j < std::min(gradient.size(), x.size()); ++j) {
    const double want = central_difference([s](const std::vector<double>& v) { return ode(v, s).back(); }, x, j, 1e-5);
    check(std::abs(gradient[j].get<double>() - want) < 1e-7 * (1 + std::abs(want)),
          "ode: d y_last / d x_" + std::to_string(j));
  }
}

// The Gaussian mixture's objective, written from ADBench's definition with plain loops: parameters
// packed as alpha (k), mu (k x d), q (k x d), l (k x d(d-1)/2, column by column).
struct Gmm {
  int d, k, n, m = 2;
  double gamma = 1.3;
  std::vector<double> x;
  double objective(const std::vector<double>& p) const {
    const int l_size = d * (d - 1) / 2;
    const double* alpha = p.data();
    const double* mu = alpha + k;
    const double* q = mu + k * d;
    const double* l = q + k * d;
    auto lse = [](const std::vector<double>& v) {
      double top = v[0], s = 0;
      for (double e : v) top = std::max(top, e);
      for (double e : v) s += std::exp(e - top);
      return top + std::log(s);
    };
    double total = -n * d * 0.5 * std::log(2 * M_PI);
    for (int i = 0; i < n; ++i) {
      std::vector<double> terms(k);
      for (int c = 0; c < k; ++c) {
        double sum_q = 0, norm = 0;
        for (int j = 0; j < d; ++j) sum_q += q[c * d + j];
        for (int row = 0; row < d; ++row) {  // (Q (x - mu))_row
          double v = std::exp(q[c * d + row]) * (x[i * d + row] - mu[c * d + row]);
          int idx = 0;
          for (int col = 0; col < d; ++col)
            for (int r = col + 1; r < d; ++r, ++idx)
              if (r == row) v += l[c * l_size + idx] * (x[i * d + col] - mu[c * d + col]);
          norm += v * v;
        }
        terms[c] = alpha[c] + sum_q - 0.5 * norm;
      }
      total += lse(terms);
    }
    total -= n * lse(std::vector<double>(alpha, alpha + k));
    const double wn = d + m + 1;
    double log_gamma = 0.25 * d * (d - 1) * std::log(M_PI);
    for (int j = 1; j <= d; ++j) log_gamma += std::lgamma(0.5 * wn + 0.5 * (1 - j));
    const double c_prior = wn * d * (std::log(gamma) - 0.5 * std::log(2.0)) - log_gamma;
    for (int c = 0; c < k; ++c) {
      double frobenius = 0, sum_q = 0;
      for (int j = 0; j < d; ++j) frobenius += std::exp(2 * q[c * d + j]), sum_q += q[c * d + j];
      for (int j = 0; j < l_size; ++j) frobenius += l[c * l_size + j] * l[c * l_size + j];
      total -= 0.5 * gamma * gamma * frobenius - m * sum_q;
    }
    return total + k * c_prior;
  }
  json input(const std::vector<double>& p) const {
    const int l_size = d * (d - 1) / 2;
    auto rows = [&](size_t offset, int count, int width) {
      json r = json::array();
      for (int i = 0; i < count; ++i)
        r.push_back(std::vector<double>(p.begin() + offset + i * width, p.begin() + offset + (i + 1) * width));
      return r;
    };
    json xs = json::array();
    for (int i = 0; i < n; ++i) xs.push_back(std::vector<double>(x.begin() + i * d, x.begin() + (i + 1) * d));
    return {{"d", d},
            {"k", k},
            {"n", n},
            {"m", m},
            {"gamma", gamma},
            {"alpha", std::vector<double>(p.begin(), p.begin() + k)},
            {"mu", rows(k, k, d)},
            {"q", rows(k + k * d, k, d)},
            {"l", rows(k + 2 * k * d, k, l_size)},
            {"x", xs}};
  }
};

void check_gmm() {
  Gmm g{.d = 3, .k = 2, .n = 4, .m = 2, .gamma = 1.3, .x = {}};
  std::mt19937_64 rng(9);
  std::normal_distribution<double> normal(0, 0.7);
  for (int i = 0; i < g.n * g.d; ++i) g.x.push_back(normal(rng));
  std::vector<double> p(g.k + 2 * g.k * g.d + g.k * g.d * (g.d - 1) / 2);
  for (double& v : p) v = normal(rng);
  const json objective = output_of(run("gmm", g.input(p), "objective"), 1, "gmm objective");
  check(objective.is_number() && close(objective.get<double>(), g.objective(p), 1e-12), "gmm: the objective");
  const json jacobian = output_of(run("gmm", g.input(p), "jacobian"), 1, "gmm jacobian");
  std::vector<double> got;  // packed as p
  if (jacobian.is_object()) {
    for (double v : jacobian.value("alpha", std::vector<double>{})) got.push_back(v);
    for (const char* name : {"mu", "q", "l"})
      for (const json& row : jacobian.value(name, json::array()))
        for (double v : row.get<std::vector<double>>()) got.push_back(v);
  }
  check(got.size() == p.size(), "gmm: one partial per parameter, in GradBench's layout");
  for (size_t i = 0; i < std::min(got.size(), p.size()); ++i) {
    const double want = central_difference([&g](const std::vector<double>& v) { return g.objective(v); }, p, i, 1e-5);
    check(std::abs(got[i] - want) < 1e-6 * (1 + std::abs(want)), "gmm: partial " + std::to_string(i));
  }
}

// ba: observation 0's reprojection error, with the rotation as a matrix, R = I + sin(t) K +
// (1 - cos(t)) K^2 for the unit axis's cross-product matrix K: a form other than the tool's.
// v = the camera's 11 parameters, the point's 3, the weight.
std::vector<double> reprojection(const std::vector<double>& v, const std::vector<double>& feature) {
  const double t = std::sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
  const double a[3] = {v[0] / t, v[1] / t, v[2] / t};
  const double k[3][3] = {{0, -a[2], a[1]}, {a[2], 0, -a[0]}, {-a[1], a[0], 0}};
  double y[3] = {0, 0, 0};
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) {
      double k2 = 0;
      for (int l = 0; l < 3; ++l) k2 += k[i][l] * k[l][j];
      y[i] += ((i == j) + std::sin(t) * k[i][j] + (1 - std::cos(t)) * k2) * (v[11 + j] - v[3 + j]);
    }
  const double u = y[0] / y[2], w = y[1] / y[2], r2 = u * u + w * w;
  const double scale = (1 + v[9] * r2 + v[10] * r2 * r2) * v[6];
  return {v[14] * (u * scale + v[7] - feature[0]), v[14] * (w * scale + v[8] - feature[1])};
}

void check_ba() {
  const std::vector<double> cam{0.3, -0.2, 0.15, 0.5, -0.4, -6.0, 420.0, 0.2, -0.1, 1e-3, -2e-4};
  const std::vector<double> x{0.7, -0.3, 1.2}, feat{-80.0, 45.0};
  const double w = 0.8;
  const int n = 2, m = 3, p = 12;
  const json input = {{"n", n}, {"m", m}, {"p", p}, {"cam", cam}, {"x", x}, {"w", w}, {"feat", feat}};
  std::vector<double> v = cam;
  v.insert(v.end(), x.begin(), x.end());
  v.push_back(w);
  const std::vector<double> err = reprojection(v, feat);
  const json objective = output_of(run("ba", input, "objective"), 1, "ba objective");
  check(objective.is_object() && objective["reproj_error"]["repeated"] == p && objective["w_err"]["repeated"] == p &&
            close(objective["reproj_error"]["elements"][0].get<double>(), err[0], 1e-12) &&
            close(objective["reproj_error"]["elements"][1].get<double>(), err[1], 1e-12) &&
            close(objective["w_err"]["element"].get<double>(), 1 - w * w, 1e-15),
        "ba: the objective");
  const json jacobian = output_of(run("ba", input, "jacobian"), 1, "ba jacobian");
  const auto rows = jacobian.value("rows", std::vector<int>{}), cols = jacobian.value("cols", std::vector<int>{});
  const auto vals = jacobian.value("vals", std::vector<double>{});
  check(rows.size() == 31 && cols.size() == 31 && vals.size() == 31, "ba: the first block's 30 entries and the last");
  if (rows.size() != 31 || cols.size() != 31 || vals.size() != 31) return;
  for (int e = 0; e < 30; ++e) {  // row e / 15 of observation 0, column e % 15 of its camera, point, weight
    const int row = e / 15, k = e % 15;
    check(rows[e] == (e <= 2 * p ? 15 * e : 30 * p + (e - 2 * p)), "ba: 15 entries per error row, 1 per weight");
    check(cols[e] == (k < 11 ? k : k < 14 ? 11 * n + (k - 11) : 11 * n + 3 * m), "ba: column " + std::to_string(e));
    const double want = central_difference([&](const std::vector<double>& q) { return reprojection(q, feat)[row]; }, v,
                                           static_cast<size_t>(k), 1e-6 * std::max(1.0, std::abs(v[k])));
    check(std::abs(vals[e] - want) < 1e-6 * (1 + std::abs(want)),
          "ba: d error / d parameter, entry " + std::to_string(e));
  }
  check(rows[30] == 2 * 15 * p + p && cols[30] == 11 * n + 3 * m + p - 1 && close(vals[30], -2 * w, 1e-15),
        "ba: the last weight's entry, -2 w");
}

// ht: a hand model of 22 bones made up here (the real one's parents, random transforms), a few
// vertices, and the errors computed with matrices built from elementary rotations and full 4 x 4
// products: forms other than the tool's. p = theta (26), then us (2 per correspondence).
struct Hand {
  using M4 = std::array<double, 16>;
  std::vector<int> parents{-1, 0, 1, 2, 3, 0, 5, 6, 7, 0, 9, 10, 11, 0, 13, 14, 15, 0, 17, 18, 19, 0};
  std::vector<M4> relatives, inverse_absolutes;
  std::vector<std::array<double, 4>> base;   // homogeneous vertices
  std::vector<std::vector<double>> weights;  // vertex x bone
  std::vector<std::array<int, 3>> triangles{{0, 1, 2}, {2, 3, 4}, {1, 4, 5}};
  std::vector<int> correspondences{0, 2, 1, 2};
  std::vector<double> points;
  static M4 product(const M4& a, const M4& b) {
    M4 c{};
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 4; ++j)
        for (int k = 0; k < 4; ++k) c[4 * i + j] += a[4 * i + k] * b[4 * k + j];
    return c;
  }
  static M4 rotation(int axis, double angle) {  // about x (0), y (1) or z (2), homogeneous
    M4 r{1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};
    const int a = (axis + 1) % 3, b = (axis + 2) % 3;
    r[4 * a + a] = r[4 * b + b] = std::cos(angle);
    r[4 * b + a] = std::sin(angle);
    r[4 * a + b] = -std::sin(angle);
    return r;
  }
  std::vector<double> errors(const std::vector<double>& p) const {
    std::vector<std::array<double, 3>> angles(22, {0, 0, 0});  // x, y, z
    for (int finger = 0, t = 6; finger < 5; ++finger)
      for (int joint = 0; joint < 3; ++joint) {
        angles[2 + 4 * finger + joint][0] = p[t++];
        if (joint == 0) angles[2 + 4 * finger + joint][2] = p[t++];
      }
    std::vector<M4> absolute(22);
    for (int b = 0; b < 22; ++b) {
      const M4 pose = product(product(rotation(2, angles[b][2]), rotation(1, angles[b][1])), rotation(0, angles[b][0]));
      absolute[b] = product(parents[b] < 0 ? M4{1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1} : absolute[parents[b]],
                            product(relatives[b], pose));
    }
    const double t = std::sqrt(p[0] * p[0] + p[1] * p[1] + p[2] * p[2]);
    const double a[3] = {p[0] / t, p[1] / t, p[2] / t};
    const double k[3][3] = {{0, -a[2], a[1]}, {a[2], 0, -a[0]}, {-a[1], a[0], 0}};
    std::vector<std::array<double, 3>> posed(base.size());
    for (size_t v = 0; v < base.size(); ++v) {
      double skinned[3] = {0, 0, 0};
      for (int b = 0; b < 22; ++b) {
        const M4 m = product(absolute[b], inverse_absolutes[b]);
        for (int i = 0; i < 3; ++i)
          for (int j = 0; j < 4; ++j) skinned[i] += weights[v][b] * m[4 * i + j] * base[v][j];
      }
      for (int i = 0; i < 3; ++i) {
        double rotated = p[3 + i];
        for (int j = 0; j < 3; ++j) {
          double k2 = 0;
          for (int l = 0; l < 3; ++l) k2 += k[i][l] * k[l][j];
          rotated += ((i == j) + std::sin(t) * k[i][j] + (1 - std::cos(t)) * k2) * skinned[j];
        }
        posed[v][i] = rotated;
      }
    }
    std::vector<double> err;
    for (size_t c = 0; c < correspondences.size(); ++c) {
      const auto& tri = triangles[static_cast<size_t>(correspondences[c])];
      const double u0 = p[26 + 2 * c], u1 = p[27 + 2 * c];
      for (int i = 0; i < 3; ++i)
        err.push_back(points[3 * c + i] -
                      (u0 * posed[tri[0]][i] + u1 * posed[tri[1]][i] + (1 - u0 - u1) * posed[tri[2]][i]));
    }
    return err;
  }
  json input(const std::vector<double>& p) const {
    auto rows = [](const M4& m) {
      return json{
          {m[0], m[1], m[2], m[3]}, {m[4], m[5], m[6], m[7]}, {m[8], m[9], m[10], m[11]}, {m[12], m[13], m[14], m[15]}};
    };
    json rel = json::array(), inv = json::array(), pts = json::array(), us = json::array();
    for (int b = 0; b < 22; ++b) rel.push_back(rows(relatives[b])), inv.push_back(rows(inverse_absolutes[b]));
    for (size_t c = 0; c < correspondences.size(); ++c) {
      pts.push_back({points[3 * c], points[3 * c + 1], points[3 * c + 2]});
      us.push_back({p[26 + 2 * c], p[27 + 2 * c]});
    }
    return {{"theta", std::vector<double>(p.begin(), p.begin() + 26)},
            {"us", us},
            {"data",
             {{"correspondences", correspondences},
              {"points", pts},
              {"model",
               {{"bone_names", std::vector<std::string>(22, "bone")},
                {"parents", parents},
                {"base_relatives", rel},
                {"inverse_base_absolutes", inv},
                {"base_positions", base},
                {"weights", weights},
                {"triangles", triangles},
                {"is_mirrored", false}}}}}};
  }
};

void check_ht() {
  Hand hand;
  std::mt19937_64 rng(23);
  std::uniform_real_distribution<double> value(-1, 1);
  for (int b = 0; b < 22; ++b) {  // a rotation and a shift, and a near-identity affine inverse
    Hand::M4 r = Hand::product(Hand::rotation(0, value(rng)), Hand::rotation(2, value(rng)));
    r[3] = value(rng), r[7] = value(rng), r[11] = 0.5 + value(rng);
    hand.relatives.push_back(r);
    Hand::M4 inv{1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};
    for (int e = 0; e < 12; ++e) inv[e] += 0.1 * value(rng);
    hand.inverse_absolutes.push_back(inv);
  }
  for (int v = 0; v < 6; ++v) {
    hand.base.push_back({value(rng), value(rng), value(rng), 1.0});
    std::vector<double> w(22, 0.0);
    w[static_cast<size_t>(v * 3 % 22)] = 0.6, w[static_cast<size_t>((v * 7 + 2) % 22)] = 0.4;
    hand.weights.push_back(w);
  }
  for (int e = 0; e < 12; ++e) hand.points.push_back(value(rng));
  std::vector<double> p(26 + 8);
  for (double& x : p) x = 0.5 * value(rng);
  const json objective = output_of(run("ht", hand.input(p), "objective"), 1, "ht objective");
  const std::vector<double> err = hand.errors(p);
  check(objective.is_array() && objective.size() == err.size(), "ht: 3 errors per correspondence");
  for (size_t i = 0; objective.is_array() && i < std::min(objective.size(), err.size()); ++i)
    check(close(objective[i].get<double>(), err[i], 1e-12), "ht: error " + std::to_string(i));
  const json jacobian = output_of(run("ht", hand.input(p), "jacobian"), 1, "ht jacobian");
  check(jacobian.is_array() && jacobian.size() == err.size() && jacobian[0].size() == 28,
        "ht: rows of 2 u columns and 26 theta columns");
  if (!jacobian.is_array() || jacobian.size() != err.size() || jacobian[0].size() != 28) return;
  for (size_t column = 0; column < 28; ++column) {  // the u columns move every u_i's coordinate at once
    const double h = 1e-6;
    std::vector<double> up = p, down = p;
    for (size_t j = column < 2 ? 26 + column : column - 2; j < p.size(); j += column < 2 ? 2 : p.size()) {
      up[j] += h;
      down[j] -= h;
    }
    const std::vector<double> e_up = hand.errors(up), e_down = hand.errors(down);
    for (size_t r = 0; r < err.size(); ++r) {
      const double want = (e_up[r] - e_down[r]) / (2 * h);
      check(std::abs(jacobian[r][column].get<double>() - want) < 1e-7 * (1 + std::abs(want)),
            "ht: d error " + std::to_string(r) + " / d column " + std::to_string(column));
    }
  }
  json simple = hand.input(p);  // the simple variant: correspondences are vertices, no u columns
  simple["us"] = json::array();
  const json simple_jacobian = output_of(run("ht", simple, "jacobian"), 1, "ht simple jacobian");
  check(simple_jacobian.is_array() && simple_jacobian.size() == err.size() && simple_jacobian[0].size() == 26,
        "ht simple: 26 theta columns");
  json bad = hand.input(p);
  bad["data"]["correspondences"][0] = 3;  // 3 triangles: 0-2
  check(run("ht", bad, "objective").status == 1, "ht: a correspondence out of range exits 1");
}

// kmeans: the cost sum_i min_k |x_i - c_k|^2, and the Newton direction gradient / Hessian diagonal,
// which is c_k - (the mean of the points nearest c_k): the gradient 2 (count c_k - sum x_i), the
// Hessian diagonal 2 count.
void check_kmeans() {
  const std::vector<std::vector<double>> centroids{{0.0, 0.0}, {5.0, 1.0}, {-3.0, 4.0}};
  std::vector<std::vector<double>> points;
  std::mt19937_64 rng(13);
  std::normal_distribution<double> noise(0, 0.8);
  for (int i = 0; i < 30; ++i) {
    const auto& c = centroids[static_cast<size_t>(i % 3)];
    points.push_back({c[0] + noise(rng), c[1] + noise(rng)});
  }
  double cost = 0;
  std::vector<std::vector<double>> sums(3, {0.0, 0.0});
  std::vector<int> counts(3);
  for (const auto& x : points) {
    size_t best = 0;
    double closest = 1e300;
    for (size_t k = 0; k < 3; ++k) {
      const double d = std::pow(x[0] - centroids[k][0], 2) + std::pow(x[1] - centroids[k][1], 2);
      if (d < closest) closest = d, best = k;
    }
    cost += closest;
    sums[best][0] += x[0], sums[best][1] += x[1], ++counts[best];
  }
  const json input = {{"points", points}, {"centroids", centroids}};
  const json got_cost = output_of(run("kmeans", input, "cost"), 1, "kmeans cost");
  check(got_cost.is_number() && close(got_cost.get<double>(), cost, 1e-13), "kmeans: the cost");
  const json dir = output_of(run("kmeans", input, "dir"), 1, "kmeans dir");
  check(dir.is_array() && dir.size() == 3, "kmeans: one row per centroid");
  for (size_t k = 0; dir.is_array() && k < std::min<size_t>(dir.size(), 3); ++k)
    for (size_t l = 0; l < 2; ++l)
      check(close(dir[k][l].get<double>(), centroids[k][l] - sums[k][l] / counts[k], 1e-10),
            "kmeans: dir of centroid " + std::to_string(k));
}

// The particle's miss x_0(t_f)^2 for control w, simulated with the force written out: the charges
// at c repel it with (x - c) / |x - c|^3 each (minus the potential's gradient).
double particle_miss(double w) {
  const double charges[2][2] = {{10, 10 - w}, {10, 0}}, dt = 0.1;
  double x[2] = {0, 8}, v[2] = {0.75, 0};
  for (;;) {
    double force[2] = {0, 0};
    for (const auto& c : charges) {
      const double r = std::hypot(x[0] - c[0], x[1] - c[1]);
      for (int i = 0; i < 2; ++i) force[i] += (x[i] - c[i]) / (r * r * r);
    }
    for (int i = 0; i < 2; ++i) x[i] += dt * v[i];
    if (x[1] <= 0) {
      const double at_axis = x[0] - x[1] / v[1] * v[0];
      return at_axis * at_axis;
    }
    for (int i = 0; i < 2; ++i) v[i] += dt * force[i];
  }
}

// particle and saddle: nested AD, "ff", "fr", "rf" and "rr" (each must reach the answer by its own
// derivatives; the four agree to the descent's tolerance). particle's w must steer
// the particle across the axis within 1e-3 of the origin (the miss is 3.2 at the start, w = 0),
// by the simulation above. saddle's point of f(x, y) = |x|^2 - |y|^2 is the origin.
void check_nested() {
  for (const std::string mode : {"ff", "fr", "rf", "rr"}) {
    const json w = output_of(run("particle", {{"w", 0.0}}, mode), 1, "particle " + mode);
    check(w.is_number(), "particle " + mode + ": w is a number");
    if (w.is_number()) {
      check(particle_miss(w.get<double>()) < 1e-6, "particle " + mode + ": w steers the particle through the origin");
    }
    const json point = output_of(run("saddle", {{"start", {2.0, -0.5}}}, mode), 1, "saddle " + mode);
    check(point.is_array() && point.size() == 4, "saddle " + mode + ": x and y, 4 values");
    for (size_t i = 0; point.is_array() && i < point.size(); ++i)
      check(std::abs(point[i].get<double>()) < 1e-4,
            "saddle " + mode + ": coordinate " + std::to_string(i) + " at the origin");
  }
}

void check_errors() {
  check(run("lse", {{"x", {1.0, 2.0}}}, "hessian").status == 1, "an unknown function exits 1");
  check(run("lse", {{"x", json::array()}}, "gradient").status == 1, "an empty x exits 1");
  check(run("lse", {{"y", {1.0}}}, "primal").status == 1, "a missing field exits 1");
  check(run("lse", {{"x", {1.0}}, {"min_runs", 0}}, "primal").status == 1, "min_runs 0 exits 1");
  std::ofstream(work + "/broken.json") << "{\"x\": [1, 2";
  FILE* pipe = popen((bin + "/lse " + work + "/broken.json primal 2>/dev/null").c_str(), "r");
  const int status = pipe ? pclose(pipe) : -1;
  check(WIFEXITED(status) && WEXITSTATUS(status) == 1, "malformed JSON exits 1");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: gradbench_tool_test BIN_DIR WORK_DIR\n";
    return 2;
  }
  bin = argv[1];
  work = argv[2];
  check_hello();
  check_lse();
  check_llsq();
  check_det();
  check_lstm();
  check_ode();
  check_gmm();
  check_ba();
  check_ht();
  check_kmeans();
  check_nested();
  check_errors();
  if (failures == 0) std::cout << "gradbench tool: all checks passed\n";
  return failures == 0 ? 0 : 1;
}
