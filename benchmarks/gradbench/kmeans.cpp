// GradBench's kmeans eval: the cost sum_i min_k |x_i - c_k|^2 of n points and k centroids (cost),
// and the Newton direction dir = gradient / Hessian diagonal in the centroids (dir). One recording
// carries tangents along v = 1 (Tape::record_tangents): a sweep from the cost gives the gradient,
// a sweep from its tangent H v. The cost's Hessian is diagonal in the centroids (each coordinate of
// c_k meets only itself, in the points nearest c_k), so H 1 is the diagonal. Distances are taken as
// |x|^2 - 2 x . c + |c|^2, an n x k product, rather than through the n x k x d differences.
#include <cmath>
#include <limits>
#include <vector>

#include "autodiff/autodiff.hpp"
#include "tool.hpp"

namespace {

using gradbench_tool::json;

struct Input {
  int64_t n, k, d;
  std::vector<double> points, centroids;  // n x d and k x d, row-major
  explicit Input(const json& in) {
    const auto p = in.at("points").get<std::vector<std::vector<double>>>();
    const auto c = in.at("centroids").get<std::vector<std::vector<double>>>();
    if (p.empty() || c.empty() || p[0].empty()) throw std::invalid_argument("kmeans: no points or no centroids");
    n = static_cast<int64_t>(p.size());
    k = static_cast<int64_t>(c.size());
    d = static_cast<int64_t>(p[0].size());
    for (const auto* rows : {&p, &c})
      for (const auto& row : *rows) {
        if (static_cast<int64_t>(row.size()) != d) throw std::invalid_argument("kmeans: rows of unequal length");
        (rows == &p ? points : centroids).insert((rows == &p ? points : centroids).end(), row.begin(), row.end());
      }
  }
};

struct Cost {
  using Output = double;
  Input in;
  explicit Cost(const json& input) : in(input) {}
  void compute(double& cost) const {
    cost = 0;
    for (int64_t i = 0; i < in.n; ++i) {
      double closest = std::numeric_limits<double>::infinity();
      for (int64_t j = 0; j < in.k; ++j) {
        double distance = 0;
        for (int64_t l = 0; l < in.d; ++l) {
          const double diff = in.points[i * in.d + l] - in.centroids[j * in.d + l];
          distance += diff * diff;
        }
        closest = std::min(closest, distance);
      }
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
  tapegrad::Tensor points, centroids, ones, points_squared;
  std::vector<double> gradient;
  explicit Dir(const json& input) : in(input) {
    points = tapegrad::Tensor(tapegrad::Array(tapegrad::Shape{in.n, in.d}, in.points));
    centroids = tapegrad::Tensor(tapegrad::Array(tapegrad::Shape{in.k, in.d}, in.centroids), true);
    ones = tapegrad::Tensor::ones({in.k, in.d});
    points_squared = tapegrad::Tensor(tapegrad::Array(tapegrad::Shape{in.n, 1}));
  }
  void square_points() {  // |x_i|^2, in every run as the cost computes it: no parameter in it
    double* squared = points_squared.mutable_value().data<double>();
    for (int64_t i = 0; i < in.n; ++i) {
      double total = 0;
      for (int64_t l = 0; l < in.d; ++l) total += in.points[i * in.d + l] * in.points[i * in.d + l];
      squared[i] = total;
    }
  }
  void compute(Output& out) {
    square_points();
    tape.record_tangents(tapegrad::Tape::Tangents::second_order);
    centroids.zero_grad();
    tape.set_tangent(centroids, ones);
    const int coordinates[] = {1}, clusters[] = {1};
    const tapegrad::Tensor centroids_squared = reshape(sum(centroids * centroids, coordinates), {1, in.k});
    const tapegrad::Tensor distances =  // [n, k]: |x_i - c_j|^2
        points_squared - 2.0 * matmul(points, transpose(centroids)) + centroids_squared;
    const tapegrad::Tensor cost = sum(min(distances, clusters));
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
  return gradbench_tool::tool_main(argc, argv,
                                   {{"cost", gradbench_tool::run<Cost>}, {"dir", gradbench_tool::run<Dir>}});
}
