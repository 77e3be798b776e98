// GradBench's ht eval (ADBench's hand tracking): a hand model of 22 bones skins its vertices,
// posed by 26 parameters theta (global rotation and translation, then each finger's angles); the
// objective is each correspondence's error, a measured point minus the model's point (a vertex in
// the simple variant; in the complicated one a point of a triangle at barycentric coordinates u,
// which are parameters too). jacobian is d errors / d (u, theta), dense: the u columns compressed
// to two (error i depends only on its own u_i).
//
// By the scalar tape: one template serves the objective (T = double) and the recording (T = Var),
// and Tape::jacobian_product sweeps the recorded partials forwards once, carrying a tangent per
// column (28 or 26): forward mode fits, 28 columns against up to 3 x 51,200 rows. The directions
// seed theta_j for its column and every u_i's first (second) coordinate for the first (second)
// column: a compressed Jacobian. Both pose only the vertices the correspondences read, each by its
// nonzero weights (Influences): the eval's dense skinning, 22 bones x every vertex of the model
// (10,000 in the big one), sums the same terms and zeros.
#include <array>
#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include "autodiff/autodiff.hpp"
#include "tool.hpp"
#ifdef TAPEGRAD_GRADBENCH_CHECKOUT  // its primal is the one timed (tool.hpp)
#include "gradbench/evals/ht.hpp"
#endif

namespace {

using gradbench_tool::json;
constexpr size_t kTheta = 26;
constexpr size_t kBones = 22;  // wrist, 5 fingers of 4 bones, forearm: what theta poses

template <class T>
using Mat4 = std::array<T, 16>;  // row-major 4 x 4
template <class T>
using Mat3 = std::array<T, 9>;  // row-major 3 x 3

struct Model {
  std::vector<int> parents;                  // each bone's parent, earlier in the order (-1: none)
  std::vector<Mat4<double>> base_relatives;  // per bone
  std::vector<Mat4<double>> inverse_base_absolutes;
  std::vector<double> base_positions;  // 4 per vertex (homogeneous)
  std::vector<double> weights;         // bones x vertices, row-major
  std::vector<std::array<int, 3>> triangles;
  bool is_mirrored = false;
  size_t vertices() const { return base_positions.size() / 4; }
};

/// The vertices the correspondences read, each with the bones that move it: a vertex's skinning
/// sum runs over its nonzero weights only (2-5 of the 22 bones in GradBench's models), and the
/// thousands of vertices no correspondence reads are not posed. Exactly the dense sum: a zero
/// weight adds zero.
struct Influences {
  std::vector<size_t> vertex;  // per used vertex: its index in the model
  std::vector<int> slot;       // per model vertex: its place in `vertex`, or -1
  std::vector<size_t> begin;   // per used vertex: its first influence (and one past the last)
  std::vector<size_t> bone;    // per influence
  std::vector<double> weight;  // per influence
  void use(size_t v) {
    if (slot[v] >= 0) return;
    slot[v] = static_cast<int>(vertex.size());
    vertex.push_back(v);
  }
};

struct Input {
  std::vector<double> theta, us;  // us: 2 per correspondence, empty in the simple variant
  Model model;
  std::vector<int> correspondences;  // a vertex (simple) or a triangle (complicated) per point
  std::vector<double> points;        // 3 per correspondence
  Influences influences;
  bool complicated() const { return !us.empty(); }

  explicit Input(const json& in) {
    const json& data = in.at("data");
    const json& model_json = data.at("model");
    theta = in.at("theta").get<std::vector<double>>();
    for (const auto& u : in.at("us").get<std::vector<std::vector<double>>>()) us.insert(us.end(), u.begin(), u.end());
    correspondences = data.at("correspondences").get<std::vector<int>>();
    for (const auto& p : data.at("points").get<std::vector<std::vector<double>>>()) {
      if (p.size() != 3) throw std::invalid_argument("ht: a point of other than 3 coordinates");
      points.insert(points.end(), p.begin(), p.end());
    }
    model.parents = model_json.at("parents").get<std::vector<int>>();
    const auto matrices = [&model_json](const char* name) {
      std::vector<Mat4<double>> out;
      for (const auto& rows : model_json.at(name).get<std::vector<std::vector<std::vector<double>>>>()) {
        Mat4<double> m{};
        if (rows.size() != 4) throw std::invalid_argument(std::string("ht: a matrix of ") + name + " is not 4 x 4");
        for (size_t i = 0; i < 4; ++i) {
          if (rows[i].size() != 4)
            throw std::invalid_argument(std::string("ht: a matrix of ") + name + " is not 4 x 4");
          for (size_t j = 0; j < 4; ++j) m[4 * i + j] = rows[i][j];
        }
        out.push_back(m);
      }
      return out;
    };
    model.base_relatives = matrices("base_relatives");
    model.inverse_base_absolutes = matrices("inverse_base_absolutes");
    for (const auto& v : model_json.at("base_positions").get<std::vector<std::vector<double>>>()) {
      if (v.size() != 4) throw std::invalid_argument("ht: a base position of other than 4 coordinates");
      model.base_positions.insert(model.base_positions.end(), v.begin(), v.end());
    }
    const size_t n_bones = model.parents.size(), n_vertices = model.vertices();
    const auto weights = model_json.at("weights").get<std::vector<std::vector<double>>>();  // vertex x bone
    model.weights.assign(n_bones * n_vertices, 0.0);
    if (weights.size() != n_vertices) throw std::invalid_argument("ht: one row of weights per vertex");
    for (size_t v = 0; v < n_vertices; ++v) {
      if (weights[v].size() != n_bones) throw std::invalid_argument("ht: one weight per bone");
      for (size_t b = 0; b < n_bones; ++b) model.weights[b * n_vertices + v] = weights[v][b];
    }
    for (const auto& t : model_json.at("triangles").get<std::vector<std::vector<int>>>()) {
      if (t.size() != 3) throw std::invalid_argument("ht: a triangle of other than 3 vertices");
      model.triangles.push_back({t[0], t[1], t[2]});
    }
    model.is_mirrored = model_json.at("is_mirrored").get<bool>();
    check(n_bones);
    find_influences(n_bones);
  }

  void find_influences(size_t n_bones) {
    const size_t n = model.vertices();
    influences.slot.assign(n, -1);
    for (const int c : correspondences)
      if (complicated())
        for (const int v : model.triangles[static_cast<size_t>(c)]) influences.use(static_cast<size_t>(v));
      else
        influences.use(static_cast<size_t>(c));
    for (const size_t v : influences.vertex) {
      influences.begin.push_back(influences.bone.size());
      for (size_t b = 0; b < n_bones; ++b)
        if (const double w = model.weights[b * n + v]; w != 0.0) {
          influences.bone.push_back(b);
          influences.weight.push_back(w);
        }
    }
    influences.begin.push_back(influences.bone.size());
  }

  void check(size_t n_bones) const {
    const auto bad = [](const char* what) { throw std::invalid_argument(std::string("ht: ") + what); };
    if (theta.size() != kTheta) bad("theta must hold 26 values");
    if (n_bones != kBones || model.base_relatives.size() != n_bones || model.inverse_base_absolutes.size() != n_bones)
      bad("the model must have 22 bones, each with its two matrices");
    for (size_t b = 0; b < n_bones; ++b)
      if (model.parents[b] >= static_cast<int>(b) || model.parents[b] < -1) bad("a bone's parent must come before it");
    if (points.size() != 3 * correspondences.size()) bad("one point per correspondence");
    if (complicated() && us.size() != 2 * correspondences.size()) bad("one u (2 values) per correspondence");
    const size_t limit = complicated() ? model.triangles.size() : model.vertices();
    for (const int c : correspondences)
      if (c < 0 || static_cast<size_t>(c) >= limit) bad("a correspondence out of range");
    for (const auto& t : model.triangles)
      for (const int v : t)
        if (v < 0 || static_cast<size_t>(v) >= model.vertices()) bad("a triangle's vertex out of range");
  }
};

using std::cos, std::sin, std::sqrt, tapegrad::cos, tapegrad::sin, tapegrad::sqrt;

// The rotation of the angle-axis vector a (identity below a norm of 1e-4, as the eval's).
template <class T>
Mat3<T> angle_axis_rotation(const T* a) {
  const T norm = sqrt(a[0] * a[0] + a[1] * a[1] + a[2] * a[2]);
  if (norm < 1e-4) return {T(1.0), T(0.0), T(0.0), T(0.0), T(1.0), T(0.0), T(0.0), T(0.0), T(1.0)};
  const T x = a[0] / norm, y = a[1] / norm, z = a[2] / norm, s = sin(norm), c = cos(norm);
  return {x * x + (1.0 - x * x) * c, x * y * (1.0 - c) - z * s, x * z * (1.0 - c) + y * s,
          x * y * (1.0 - c) + z * s, y * y + (1.0 - y * y) * c, y * z * (1.0 - c) - x * s,
          x * z * (1.0 - c) - y * s, z * y * (1.0 - c) + x * s, z * z + (1.0 - z * z) * c};
}

// R_z R_y R_x for angles given in the order x, z, y.
template <class T>
Mat3<T> euler_rotation(const T* xzy) {
  const T cx = cos(xzy[0]), sx = sin(xzy[0]), cy = cos(xzy[2]), sy = sin(xzy[2]), cz = cos(xzy[1]), sz = sin(xzy[1]);
  return {cz * cy,
          cz * sy * sx - sz * cx,
          cz * sy * cx + sz * sx,  //
          sz * cy,
          sz * sy * sx + cz * cx,
          sz * sy * cx - cz * sx,  //
          -sy,
          cy * sx,
          cy * cx};
}

template <class T, class A, class B>
Mat4<T> multiply(const Mat4<A>& a, const Mat4<B>& b) {
  Mat4<T> c;
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j)
      c[4 * i + j] = a[4 * i] * b[j] + a[4 * i + 1] * b[4 + j] + a[4 * i + 2] * b[8 + j] + a[4 * i + 3] * b[12 + j];
  return c;
}

// The posed, skinned and globally placed vertices that the correspondences read, 3 per used vertex
// (Influences): each bone's Euler angles from theta (the fingers' 4 bones get 2, 1 and 1 angles;
// the wrist and forearm none), relative transforms chained to absolute ones, and each vertex the
// weighted sum of its bones' transforms of its base position, in bone order; then mirrored if the
// model is, rotated and translated.
template <class T>
void posed_vertices(const Model& model, const Influences& influences, const T* theta, std::vector<Mat4<T>>& transforms,
                    std::vector<T>& out) {
  std::array<std::array<T, 3>, kBones> angles;  // per bone: x, z, y
  angles.fill({T(0.0), T(0.0), T(0.0)});
  for (size_t finger = 0, t = 6; finger < 5; ++finger)
    for (size_t joint = 0; joint < 3; ++joint) {
      auto& bone = angles[2 + 4 * finger + joint];  // a finger's first bone is not posed
      bone[0] = theta[t++];
      if (joint == 0) bone[1] = theta[t++];
    }
  std::array<Mat4<T>, kBones> absolutes;
  transforms.resize(kBones);
  for (size_t b = 0; b < kBones; ++b) {
    const Mat3<T> r = euler_rotation(angles[b].data());
    const Mat4<T> pose = {r[0], r[1], r[2], T(0.0), r[3],   r[4],   r[5],   T(0.0),
                          r[6], r[7], r[8], T(0.0), T(0.0), T(0.0), T(0.0), T(1.0)};
    const Mat4<T> relative = multiply<T>(model.base_relatives[b], pose);
    absolutes[b] = model.parents[b] < 0 ? relative : multiply<T>(absolutes[model.parents[b]], relative);
    transforms[b] = multiply<T>(absolutes[b], model.inverse_base_absolutes[b]);
  }
  const Mat3<T> r = angle_axis_rotation(theta);  // theta 0-2; the scale is 1; theta 3-5 translate
  const double mirror = model.is_mirrored ? -1.0 : 1.0;
  out.resize(3 * influences.vertex.size());
  for (size_t u = 0; u < influences.vertex.size(); ++u) {
    const double* base = &model.base_positions[4 * influences.vertex[u]];
    std::array<T, 3> skinned{};  // zeros (constants for Var) for a vertex no bone moves
    for (size_t e = influences.begin[u]; e < influences.begin[u + 1]; ++e) {
      const Mat4<T>& transform = transforms[influences.bone[e]];
      const double weight = influences.weight[e];
      for (size_t i = 0; i < 3; ++i) {
        const auto term = (transform[4 * i] * base[0] + transform[4 * i + 1] * base[1] +
                           transform[4 * i + 2] * base[2] + transform[4 * i + 3] * base[3]) *
                          weight;
        if (e == influences.begin[u])  // the first bone's term starts the sum: no 0 + term
          skinned[i] = term;
        else
          skinned[i] = skinned[i] + term;
      }
    }
    for (size_t i = 0; i < 3; ++i)  // mirroring negates x, exactly
      out[3 * u + i] =
          mirror * r[3 * i] * skinned[0] + r[3 * i + 1] * skinned[1] + r[3 * i + 2] * skinned[2] + theta[3 + i];
  }
}

// Each correspondence's error: its point minus the model's vertex, or its triangle's point at u.
template <class T>
void errors(const Input& in, const T* theta, const T* us, std::vector<Mat4<T>>& transforms, std::vector<T>& positions,
            T* err) {
  posed_vertices(in.model, in.influences, theta, transforms, positions);
  const auto position = [&](int vertex, size_t i) -> const T& {
    return positions[3 * static_cast<size_t>(in.influences.slot[static_cast<size_t>(vertex)]) + i];
  };
  for (size_t c = 0; c < in.correspondences.size(); ++c) {
    const int at = in.correspondences[c];
    for (size_t i = 0; i < 3; ++i) {
      if (!in.complicated()) {
        err[3 * c + i] = in.points[3 * c + i] - position(at, i);
        continue;
      }
      const auto& t = in.model.triangles[static_cast<size_t>(at)];
      const T* u = us + 2 * c;
      err[3 * c + i] = in.points[3 * c + i] -
                       (u[0] * position(t[0], i) + u[1] * position(t[1], i) + (1.0 - u[0] - u[1]) * position(t[2], i));
    }
  }
}

struct Objective : Input {
  using Output = std::vector<double>;
  std::vector<Mat4<double>> transforms;
  std::vector<double> positions;
  using Input::Input;
  void compute(std::vector<double>& err) {
    err.resize(3 * correspondences.size());
    errors(*this, theta.data(), us.data(), transforms, positions, err.data());
  }
};

struct Jacobian : Input {
  struct Output {  // row-major rows x cols
    size_t rows = 0, cols = 0;
    std::vector<double> values;
  };
  tapegrad::Tape tape;
  std::vector<tapegrad::Var> inputs, err;  // inputs: theta, then us
  std::vector<double> directions;          // inputs x cols: which column each input seeds
  std::vector<Mat4<tapegrad::Var>> transforms;
  std::vector<tapegrad::Var> positions;
  size_t u_columns;
  explicit Jacobian(const json& input) : Input(input), u_columns(complicated() ? 2 : 0) {
    const size_t cols = u_columns + kTheta;
    directions.assign((kTheta + us.size()) * cols, 0.0);
    for (size_t j = 0; j < kTheta; ++j) directions[j * cols + u_columns + j] = 1.0;
    for (size_t j = 0; j < us.size(); ++j) directions[(kTheta + j) * cols + j % 2] = 1.0;  // u_i's first, second
  }
  void compute(Output& out) {
    out.rows = 3 * correspondences.size();
    out.cols = u_columns + kTheta;
    out.values.resize(out.rows * out.cols);
    err.resize(out.rows);
    tape.clear();
    inputs.assign(theta.begin(), theta.end());
    inputs.insert(inputs.end(), us.begin(), us.end());
    errors(*this, inputs.data(), inputs.data() + kTheta, transforms, positions, err.data());
    tape.jacobian_product(err, inputs, directions, out.values);
  }
};

void to_json(json& j, const Jacobian::Output& out) {  // GradBench's: a list of rows
  j = json::array();
  for (size_t r = 0; r < out.rows; ++r)
    j.push_back(std::vector<double>(out.values.begin() + static_cast<std::ptrdiff_t>(r * out.cols),
                                    out.values.begin() + static_cast<std::ptrdiff_t>((r + 1) * out.cols)));
}

}  // namespace

int main(int argc, char** argv) {
  return gradbench_tool::tool_main(argc, argv,
                                   {{"objective", gradbench_tool::run<Objective, TAPEGRAD_CHECKOUTS(ht::Objective)>},
                                    {"jacobian", gradbench_tool::run<Jacobian>}});
}
