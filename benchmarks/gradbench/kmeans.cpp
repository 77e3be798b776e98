// GradBench's kmeans eval: the cost sum_i min_k |x_i - c_k|^2 of n points and k centroids (cost),
// and the Newton direction dir = gradient / Hessian diagonal in the centroids (dir).
// The nearest centroid of each point is piecewise constant in the centroids: the derivatives of
// min_k |x_i - c_k|^2 are those of the selected term |x_i - c_nearest(i)|^2 (as the tape's own min
// routes them). So dir finds each point's nearest centroid in doubles, as the cost does, and records
// only the n selected distances: index_select of the centroids, a difference, a square, a sum (n x d
// values, where recording the whole min would hold n x k). One recording carries tangents along
// v = 1 (Tape::record_tangents): a sweep from the cost gives the gradient, a sweep from its tangent
// H v. The cost's Hessian is diagonal in the centroids (each coordinate of c_k meets only itself, in
// the points nearest c_k), so H 1 is the diagonal.
#include <cmath>
#include <limits>
#include <vector>

#include "autodiff/autodiff.hpp"
#include "tool.hpp"
#ifdef TAPEGRAD_GRADBENCH_CHECKOUT  // its primal is the one timed (tool.hpp)
#include "gradbench/evals/kmeans.hpp"
#endif

namespace {

using gradbench_tool::json;

/// Rows of equal length d, flattened row-major; the row count.
int64_t flatten(const std::vector<std::vector<double>>& rows, int64_t d, std::vector<double>& out) {
  for (const auto& row : rows) {
    if (static_cast<int64_t>(row.size()) != d) throw std::invalid_argument("kmeans: rows of unequal length");
    out.insert(out.end(), row.begin(), row.end());
  }
  return static_cast<int64_t>(rows.size());
}

struct Input {
  int64_t n, k, d;
  std::vector<double> points, centroids;  // n x d and k x d, row-major
  explicit Input(const json& in) {
    const auto p = in.at("points").get<std::vector<std::vector<double>>>();
    const auto c = in.at("centroids").get<std::vector<std::vector<double>>>();
    if (p.empty() || c.empty() || p[0].empty()) throw std::invalid_argument("kmeans: no points or no centroids");
    d = static_cast<int64_t>(p[0].size());
    n = flatten(p, d, points);
    k = flatten(c, d, centroids);
  }
};

/// The squared distance between point i and centroid j.
double squared_distance(const Input& in, int64_t i, int64_t j) {
  double distance = 0;
  for (int64_t l = 0; l < in.d; ++l) {
    const double diff = in.points[i * in.d + l] - in.centroids[j * in.d + l];
    distance += diff * diff;
  }
  return distance;
}

struct Cost {
  using Output = double;
  Input in;
  explicit Cost(const json& input) : in(input) {}
  void compute(double& cost) const {
    cost = 0;
    for (int64_t i = 0; i < in.n; ++i) {
      double closest = std::numeric_limits<double>::infinity();
      for (int64_t j = 0; j < in.k; ++j) closest = std::min(closest, squared_distance(in, i, j));
      cost += closest;
    }
  }
};

struct Dir {
  struct Output {
    int64_t k = 0, d = 0;
    std::vector<double> dir;
  };
  Input in;
  tapegrad::Tape tape;
  tapegrad::Tensor points, centroids, ones;
  std::vector<int64_t> nearest;  // each point's nearest centroid: the first of equals (at a tie any is a subgradient)
  std::vector<double> gradient;
  explicit Dir(const json& input) : in(input), nearest(static_cast<size_t>(in.n)) {
    points = tapegrad::Tensor(tapegrad::Array(tapegrad::Shape{in.n, in.d}, in.points));
    centroids = tapegrad::Tensor(tapegrad::Array(tapegrad::Shape{in.k, in.d}, in.centroids), true);
    ones = tapegrad::Tensor::ones({in.k, in.d});
  }
  void assign_points() {
    for (int64_t i = 0; i < in.n; ++i) {
      double closest = std::numeric_limits<double>::infinity();
      for (int64_t j = 0; j < in.k; ++j)
        if (const double distance = squared_distance(in, i, j); distance < closest)
          closest = distance, nearest[static_cast<size_t>(i)] = j;
    }
  }
  void compute(Output& out) {
    assign_points();
    tape.record_tangents(tapegrad::Tape::Tangents::second_order);
    centroids.zero_grad();
    tape.set_tangent(centroids, ones);
    const tapegrad::Tensor cost = sum(square(points - index_select(centroids, 0, nearest)));
    const tapegrad::Tensor along_ones = tape.tangent(cost);  // grad . 1, recorded
    cost.backward({.retain_graph = true});
    gradbench_tool::copy_gradient(centroids, gradient);
    centroids.zero_grad();
    along_ones.backward();  // H 1: the Hessian's diagonal
    const tapegrad::Array& diagonal = centroids.grad();
    out.k = in.k;
    out.d = in.d;
    out.dir.resize(gradient.size());
    for (size_t i = 0; i < gradient.size(); ++i) out.dir[i] = gradient[i] / diagonal.data<double>()[i];
  }
};

/// GradBench's layout: one row per centroid.
void to_json(json& j, const Dir::Output& out) {
  j = json::array();
  for (int64_t i = 0; i < out.k; ++i)
    j.push_back(std::vector<double>(out.dir.begin() + i * out.d, out.dir.begin() + (i + 1) * out.d));
}

}  // namespace

int main(int argc, char** argv) {
  return gradbench_tool::tool_main(
      argc, argv,
      {{"cost", gradbench_tool::run<Cost, TAPEGRAD_CHECKOUTS(kmeans::Cost)>}, {"dir", gradbench_tool::run<Dir>}});
}
