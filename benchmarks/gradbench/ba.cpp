// GradBench's ba eval (ADBench's bundle adjustment): n cameras, m points, p observations; each
// observation i of point X by camera (rotation r, centre C, focal f, principal point u0, radial k)
// has the reprojection error w_i (project(cam, X) - feature_i), 2 values, and each weight the error
// 1 - w_i^2 (objective). jacobian is their sparse Jacobian in the parameters: per observation a
// 2 x 15 block (the camera's 11 parameters, the point's 3, its weight), per weight -2 w_i, in
// GradBench's compressed rows. By the scalar tape: one template serves both, and each
// observation's block is one recording of its 2 errors from its 15 leaves and Tape::jacobian
// into the block (two sweeps), on one tape cleared per observation; each weight's entry is a
// recording of 1 - w^2 and its sweep. The input holds one camera,
// one point, one weight and one feature, repeated n, m, p times (the eval's format); observation i
// sees camera i mod n and point i mod m. The output shows the first block and the last weight's
// entry, as GradBench's; the whole matrix is computed.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <vector>

#include "autodiff/autodiff.hpp"
#include "tool.hpp"
#ifdef TAPEGRAD_GRADBENCH_CHECKOUT  // its primal is the one timed (tool.hpp)
#include "gradbench/evals/ba.hpp"
#endif

namespace {

using gradbench_tool::json;
constexpr int kCamParams = 11;  // r (3, angle-axis), C (3), f, u0, v0, k1, k2
constexpr int kBlock = kCamParams + 3 + 1;

struct Input {
  int n, m, p;
  std::vector<double> cams, points, weights, features;  // 11n, 3m, p, 2p
  explicit Input(const json& in) : n(in.at("n").get<int>()), m(in.at("m").get<int>()), p(in.at("p").get<int>()) {
    const auto cam = in.at("cam").get<std::vector<double>>();
    const auto x = in.at("x").get<std::vector<double>>();
    const auto feat = in.at("feat").get<std::vector<double>>();
    const double w = in.at("w").get<double>();
    if (n < 1 || m < 1 || p < 1 || cam.size() != kCamParams || x.size() != 3 || feat.size() != 2)
      throw std::invalid_argument("ba: needs n, m, p >= 1, a camera of 11 values, a point of 3, a feature of 2");
    for (int i = 0; i < n; ++i) cams.insert(cams.end(), cam.begin(), cam.end());
    for (int i = 0; i < m; ++i) points.insert(points.end(), x.begin(), x.end());
    weights.assign(static_cast<size_t>(p), w);
    for (int i = 0; i < p; ++i) features.insert(features.end(), feat.begin(), feat.end());
  }
  int camera_of(int i) const { return i % n; }
  int point_of(int i) const { return i % m; }
};

template <class T>
void cross(const T* a, const T* b, T* out) {
  out[0] = a[1] * b[2] - a[2] * b[1];
  out[1] = a[2] * b[0] - a[0] * b[2];
  out[2] = a[0] * b[1] - a[1] * b[0];
}

// x rotated by the angle-axis vector r (Rodrigues' formula; to first order near r = 0).
template <class T>
void rotate(const T* r, const T* x, T* out) {
  using std::sqrt, std::cos, std::sin;
  const T theta_sq = r[0] * r[0] + r[1] * r[1] + r[2] * r[2];
  T r_cross_x[3];
  if (theta_sq == 0.0) {
    cross(r, x, r_cross_x);
    for (int i = 0; i < 3; ++i) out[i] = x[i] + r_cross_x[i];
    return;
  }
  const T theta = sqrt(theta_sq);
  const T cos_theta = cos(theta), sin_theta = sin(theta);
  const T axis[3] = {r[0] / theta, r[1] / theta, r[2] / theta};
  cross(axis, x, r_cross_x);
  const T along = (axis[0] * x[0] + axis[1] * x[1] + axis[2] * x[2]) * (1.0 - cos_theta);
  for (int i = 0; i < 3; ++i) out[i] = x[i] * cos_theta + r_cross_x[i] * sin_theta + axis[i] * along;
}

// w (project(cam, X) - feature): X in the camera's frame, divided by depth, distorted radially,
// scaled by f and shifted to the principal point.
template <class T>
void reprojection_error(const T* cam, const T* x, const T& w, const double* feature, T* err) {
  const T centred[3] = {x[0] - cam[3], x[1] - cam[4], x[2] - cam[5]};
  T in_camera[3];
  rotate(cam, centred, in_camera);
  const T u = in_camera[0] / in_camera[2], v = in_camera[1] / in_camera[2];
  const T r_sq = u * u + v * v;
  const T distortion = 1.0 + cam[9] * r_sq + cam[10] * r_sq * r_sq;
  err[0] = w * (u * distortion * cam[6] + cam[7] - feature[0]);
  err[1] = w * (v * distortion * cam[6] + cam[8] - feature[1]);
}

struct Objective : Input {
  struct Output {
    std::vector<double> reproj_err, w_err;
  };
  using Input::Input;
  void compute(Output& out) const {
    out.reproj_err.resize(2 * static_cast<size_t>(p));
    out.w_err.resize(static_cast<size_t>(p));
    for (int i = 0; i < p; ++i) {
      reprojection_error(&cams[kCamParams * camera_of(i)], &points[3 * point_of(i)], weights[i], &features[2 * i],
                         &out.reproj_err[2 * i]);
      out.w_err[i] = 1 - weights[i] * weights[i];
    }
  }
};

// GradBench's output form: the first error, and a count (unused where a checkout's objective runs)
[[maybe_unused]] void to_json(json& j, const Objective::Output& out) {
  j = {
      {"reproj_error", {{"elements", {out.reproj_err[0], out.reproj_err[1]}}, {"repeated", out.reproj_err.size() / 2}}},
      {"w_err", {{"element", out.w_err[0]}, {"repeated", out.w_err.size()}}}};
}

struct Jacobian : Input {
  struct Output {  // compressed rows: row r's entries are [rows[r], rows[r + 1]) of cols and vals
    std::vector<int> rows, cols;
    std::vector<double> vals;
  };
  tapegrad::Tape tape;
  using Input::Input;
  void compute(Output& out) {
    const size_t blocks = static_cast<size_t>(p);
    out.rows.assign(1, 0);
    out.rows.reserve(3 * blocks + 1);
    out.cols.clear();
    out.vals.clear();
    out.cols.reserve(2 * kBlock * blocks + blocks);
    out.vals.reserve(2 * kBlock * blocks + blocks);
    std::array<tapegrad::Var, kBlock> leaves;  // the camera's 11, the point's 3, the weight
    std::array<tapegrad::Var, 2> err;
    std::array<double, 2 * kBlock> block{};
    for (int i = 0; i < p; ++i) {
      const int cam = camera_of(i), pt = point_of(i);
      tape.clear();
      for (int k = 0; k < kCamParams; ++k) leaves[k] = cams[kCamParams * cam + k];
      for (int k = 0; k < 3; ++k) leaves[kCamParams + k] = points[3 * pt + k];
      leaves[kBlock - 1] = weights[i];
      reprojection_error(&leaves[0], &leaves[kCamParams], leaves[kBlock - 1], &features[2 * i], err.data());
      tape.jacobian(err, leaves, block);
      for (int row = 0; row < 2; ++row) {
        out.rows.push_back(out.rows.back() + kBlock);
        for (int k = 0; k < kBlock; ++k) {
          out.cols.push_back(k < kCamParams   ? kCamParams * cam + k
                             : k < kBlock - 1 ? kCamParams * n + 3 * pt + (k - kCamParams)
                                              : kCamParams * n + 3 * m + i);
          out.vals.push_back(block[row * kBlock + k]);
        }
      }
    }
    for (int i = 0; i < p; ++i) {  // d(1 - w_i^2)/dw_i, a recording of its own
      tape.clear();
      const tapegrad::Var w = weights[i];
      const tapegrad::Var w_err = 1.0 - w * w;
      w_err.backward();
      out.rows.push_back(out.rows.back() + 1);
      out.cols.push_back(kCamParams * n + 3 * m + i);
      out.vals.push_back(w.grad());
    }
  }
};

void to_json(json& j, const Jacobian::Output& out) {  // GradBench's: the first block's 30 entries and the last
  const auto first_and_last = [](const auto& v) {     // (fewer when the matrix is smaller)
    const auto shown = static_cast<std::ptrdiff_t>(std::min<size_t>(2 * kBlock, v.size() - 1));
    auto r = std::vector<typename std::decay_t<decltype(v)>::value_type>(v.begin(), v.begin() + shown);
    r.push_back(v.back());
    return r;
  };
  j = {{"rows", first_and_last(out.rows)}, {"cols", first_and_last(out.cols)}, {"vals", first_and_last(out.vals)}};
}

}  // namespace

int main(int argc, char** argv) {
  return gradbench_tool::tool_main(argc, argv,
                                   {{"objective", gradbench_tool::run<Objective, TAPEGRAD_CHECKOUTS(ba::Objective)>},
                                    {"jacobian", gradbench_tool::run<Jacobian>}});
}
