// Convolution and pooling: values against direct loops written here from the definitions, first
// and second derivatives by central differences (float64), float32, the layers, and bad shapes.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "autodiff/autodiff.hpp"
#include "nn/functional/conv_kernels.hpp"
#include "nn/nn.hpp"
#include "support/check.hpp"

using namespace tapegrad;

namespace {

using test::random_array;

/// The convolution's definition as nested loops: y[n, o, i, j] = b[o] + sum over the group's
/// channels c and taps (p, q) of w[o, c, p, q] x[n, g * C/groups + c, i s - pad + p d, j s - pad + q d].
Array direct_conv(const Array& x, const Array& w, const Array* b, const nn::Conv2dOptions& o) {
  const int64_t N = x.shape()[0], C = x.shape()[1], H = x.shape()[2], W = x.shape()[3];
  const int64_t O = w.shape()[0], Cg = w.shape()[1], KH = w.shape()[2], KW = w.shape()[3];
  const int64_t Ho = (H + 2 * o.padding - o.dilation * (KH - 1) - 1) / o.stride + 1;
  const int64_t Wo = (W + 2 * o.padding - o.dilation * (KW - 1) - 1) / o.stride + 1;
  const int64_t Og = O / o.groups;
  Array y(Shape{N, O, Ho, Wo});
  for (int64_t n = 0; n < N; ++n)
    for (int64_t oc = 0; oc < O; ++oc)
      for (int64_t i = 0; i < Ho; ++i)
        for (int64_t j = 0; j < Wo; ++j) {
          double s = b ? b->at(oc) : 0.0;
          for (int64_t c = 0; c < Cg; ++c)
            for (int64_t p = 0; p < KH; ++p)
              for (int64_t q = 0; q < KW; ++q) {
                const int64_t h = i * o.stride - o.padding + p * o.dilation;
                const int64_t v = j * o.stride - o.padding + q * o.dilation;
                if (h < 0 || h >= H || v < 0 || v >= W) continue;
                const int64_t ch = (oc / Og) * Cg + c;
                s += w.at(((oc * Cg + c) * KH + p) * KW + q) * x.at(((n * C + ch) * H + h) * W + v);
              }
          y.set(((n * O + oc) * Ho + i) * Wo + j, s);
        }
  return y;
}

Array converted(const Array& a, DType dtype) { return Array(a.shape(), a.to_vector(), dtype); }

void check_close(const Array& got, const Array& want, double tol) {
  REQUIRE(got.shape() == want.shape());
  for (int64_t i = 0; i < got.numel(); ++i)
    REQUIRE(std::abs(got.at(i) - want.at(i)) <= tol * (1 + std::abs(want.at(i))));
}

struct ConvCase {
  const char* name;
  Shape x, w;
  nn::Conv2dOptions options;
  bool bias;
};

const ConvCase kConvCases[] = {
    {"3x3, padding 1", {2, 3, 5, 6}, {4, 3, 3, 3}, {.padding = 1}, true},
    {"stride 2, no bias", {1, 2, 7, 5}, {3, 2, 3, 2}, {.stride = 2}, false},
    {"dilation 2, padding 2", {2, 2, 6, 6}, {2, 2, 3, 3}, {.padding = 2, .dilation = 2}, true},
    {"groups 2", {1, 4, 5, 5}, {6, 2, 3, 3}, {.stride = 1, .padding = 1, .groups = 2}, true},
    {"1x1 (reads the input in place)", {2, 3, 4, 4}, {5, 3, 1, 1}, {}, true},
    {"depthwise, stride 2 and padding", {1, 3, 6, 5}, {3, 1, 3, 3}, {.stride = 2, .padding = 1, .groups = 3}, false},
};

}  // namespace

TEST_SUITE("conv") {
  TEST_CASE("conv2d equals the definition's loops, in float64 and float32") {
    Tape tape;
    for (const ConvCase& c : kConvCases) {
      CAPTURE(c.name);
      const Array x = random_array(c.x, 1), w = random_array(c.w, 2), b = random_array({c.w[0]}, 3);
      const Array want = direct_conv(x, w, c.bias ? &b : nullptr, c.options);
      check_close(nn::conv2d(Tensor(x), Tensor(w), c.bias ? Tensor(b) : Tensor(), c.options).value(), want, 1e-12);
      const Tensor y32 = nn::conv2d(Tensor(converted(x, DType::f32)), Tensor(converted(w, DType::f32)),
                                    c.bias ? Tensor(converted(b, DType::f32)) : Tensor(), c.options);
      CHECK(y32.dtype() == DType::f32);
      check_close(converted(y32.value(), DType::f64), want, 1e-5);
    }
  }

  TEST_CASE("conv2d: gradients and second derivatives by central differences") {
    for (const ConvCase& c : kConvCases) {
      CAPTURE(c.name);
      std::vector<Array> in = {random_array(c.x, 4), random_array(c.w, 5)};
      if (c.bias) in.push_back(random_array({c.w[0]}, 6));
      const nn::Conv2dOptions o = c.options;
      // mean(y^2) has a Hessian in x and w jointly (conv is bilinear), so the second-order check
      // sees the cross terms too; a mean keeps the central differences' rounding below atol.
      TensorFunction f = [o](std::span<const Tensor> p) {
        return mean(square(nn::conv2d(p[0], p[1], p.size() > 2 ? p[2] : Tensor(), o)));
      };
      CHECK_GRADCHECK(gradcheck(f, in));
      CHECK_GRADCHECK(gradgradcheck(f, in, {.projections = 4}));
    }
  }

  TEST_CASE("conv kernels: the images split into shares give one thread's values and gradients") {
    // The chunks run in turn here, so the test is the same on any core count; the tape passes
    // autodiff's pool as the loop (run at two threads by the CNN trainer test).
    const nn::kernels::ChunkLoop serial = [](int64_t n, void (*body)(void*, int64_t, int64_t), void* ctx) {
      body(ctx, 0, n);
    };
    const struct {
      const char* name;
      Shape x, w;
      nn::Conv2dOptions options;
    } cases[] = {
        {"3x3, padding 1", {5, 8, 20, 20}, {32, 8, 3, 3}, {.padding = 1}},
        {"groups 2, stride 2", {10, 8, 40, 40}, {32, 4, 3, 3}, {.stride = 2, .padding = 1, .groups = 2}},
        {"1x1 in place", {5, 64, 16, 16}, {64, 64, 1, 1}, {}},
    };
    for (const auto& c : cases) {
      CAPTURE(c.name);
      const Array x = random_array(c.x, 7), w = random_array(c.w, 8), b = random_array({c.w[0]}, 9);
      const nn::kernels::Conv2dGeometry g =
          nn::kernels::conv2d_geometry("test", c.x.dims(), c.w.dims(), c.w[0], c.options);
      const Shape y_shape{g.batch, g.out_channels, g.out_h, g.out_w};
      const Array gy = random_array(y_shape, 10);
      struct Result {
        Array y, gx, gw, gb;
      };
      auto run = [&](const nn::kernels::ConvThreads& threads) {
        // Gradients start from ones: the kernels add into them.
        Result r{Array(y_shape), Array(c.x, std::vector<double>(size_t(c.x.numel()), 1.0)),
                 Array(c.w, std::vector<double>(size_t(c.w.numel()), 1.0)),
                 Array(Shape{c.w[0]}, std::vector<double>(size_t(c.w[0]), 1.0))};
        std::vector<double> scratch(size_t(std::max(nn::kernels::conv2d_forward_scratch(g, threads),
                                                    nn::kernels::conv2d_backward_scratch(g, threads))));
        nn::kernels::conv2d_forward(g, x.data<double>(), w.data<double>(), b.data<double>(), r.y.data<double>(),
                                    scratch.data(), threads);
        nn::kernels::conv2d_backward(g, x.data<double>(), w.data<double>(), gy.data<double>(), r.gx.data<double>(),
                                     r.gw.data<double>(), r.gb.data<double>(), scratch.data(), threads);
        return r;
      };
      const nn::kernels::ConvThreads one{.count = 1}, shared{.count = 3, .loop = serial};
      REQUIRE(nn::kernels::conv2d_shares(g, shared) == 3);
      const Result want = run(one), got = run(shared);
      check_close(got.y, want.y, 0);  // forward: each image's product is the same call
      check_close(got.gx, want.gx, 0);
      check_close(got.gw, want.gw, 1e-12);  // the shares' sums are added in another order
      check_close(got.gb, want.gb, 1e-12);
      check_close(want.y, direct_conv(x, w, &b, c.options), 1e-12);
    }
  }

  TEST_CASE("max_pool2d, avg_pool2d and adaptive_avg_pool2d against hand-worked values") {
    Tape tape;
    // One plane, 4 x 4: 0 1 2 3 / 4 5 6 7 / 8 9 10 11 / 12 13 14 15.
    Array ramp(Shape{1, 1, 4, 4});
    for (int64_t i = 0; i < 16; ++i) ramp.set(i, double(i));
    const Tensor x(ramp);
    check_close(nn::max_pool2d(x, 2).value(), Array({1, 1, 2, 2}, {5, 7, 13, 15}), 0);
    check_close(nn::avg_pool2d(x, 2).value(), Array({1, 1, 2, 2}, {2.5, 4.5, 10.5, 12.5}), 1e-15);
    // Stride 1, padding 1, kernel 3 at the corner: cells {0, 1, 4, 5} of a 9-cell window.
    const Tensor padded = nn::avg_pool2d(x, 3, {.stride = 1, .padding = 1});
    CHECK(padded.shape() == Shape{1, 1, 4, 4});
    CHECK(padded.value().at(0) == doctest::Approx(10.0 / 9.0));
    const Tensor real_cells = nn::avg_pool2d(x, 3, {.stride = 1, .padding = 1, .count_include_pad = false});
    CHECK(real_cells.value().at(0) == doctest::Approx(10.0 / 4.0));
    // Max pooling pads with -infinity: the corner window's maximum is cell 5.
    CHECK(nn::max_pool2d(x, 3, {.stride = 1, .padding = 1}).value().at(0) == 5.0);
    // Output sizes round down: 4 x 4 with kernel 3, stride 2 gives 1 x 1.
    CHECK(nn::max_pool2d(x, 3, {.stride = 2}).shape() == Shape{1, 1, 1, 1});
    // Adaptive to 1 x 1 is the mean; to 3 x 2 the windows are rows [0,2) [1,3) [2,4), columns [0,2) [2,4).
    check_close(nn::adaptive_avg_pool2d(x, 1, 1).value(), Array({1, 1, 1, 1}, {7.5}), 1e-15);
    check_close(nn::adaptive_avg_pool2d(x, 3, 2).value(), Array({1, 1, 3, 2}, {2.5, 4.5, 6.5, 8.5, 10.5, 12.5}), 1e-15);
    // A NaN in a window is its maximum (PyTorch's rule), and only that window's.
    Array with_nan = ramp;
    with_nan.set(5, std::numeric_limits<double>::quiet_NaN());
    const Array m = nn::max_pool2d(Tensor(with_nan), 2).value();
    CHECK(std::isnan(m.at(0)));
    CHECK(m.at(1) == 7.0);
  }

  TEST_CASE("max_pool2d: a tied window's gradient goes to its first cell, 2x2 windows and others alike") {
    Tape tape;
    Tensor x(Array(Shape{1, 1, 4, 5}, std::vector<double>(20, 1.0)), true);  // every window tied
    sum(nn::max_pool2d(x, 2)).backward();  // windows at (0,0) (0,2) (2,0) (2,2); column 4 unused
    std::vector<double> want(20, 0.0);
    for (const int cell : {0, 2, 10, 12}) want[size_t(cell)] = 1.0;
    CHECK(x.grad().to_vector() == want);
    x.zero_grad();
    sum(nn::max_pool2d(x, 3, {.stride = 2})).backward();  // windows at (0,0) and (0,2)
    std::vector<double> want3(20, 0.0);
    for (const int cell : {0, 2}) want3[size_t(cell)] = 1.0;
    CHECK(x.grad().to_vector() == want3);
  }

  TEST_CASE("pooling: gradients and second derivatives by central differences, 3-D and 4-D inputs") {
    // Distinct values, so that no window's maximum is tied within a difference step.
    Array x(Shape{2, 2, 5, 6});
    for (int64_t i = 0; i < x.numel(); ++i) x.set(i, std::sin(1.7 * double(i)) + 0.01 * double(i));
    const std::vector<Array> in = {x};
    const std::vector<Array> in3 = {Array(Shape{4, 5, 6}, x.to_vector())};
    const TensorFunction pools[] = {
        [](std::span<const Tensor> p) { return sum(square(nn::max_pool2d(p[0], 2))); },
        [](std::span<const Tensor> p) { return sum(square(nn::max_pool2d(p[0], 3, {.stride = 2, .padding = 1}))); },
        [](std::span<const Tensor> p) { return sum(square(nn::avg_pool2d(p[0], 2))); },
        [](std::span<const Tensor> p) { return sum(square(nn::avg_pool2d(p[0], 3, {.stride = 2, .padding = 1}))); },
        [](std::span<const Tensor> p) {
          return sum(square(nn::avg_pool2d(p[0], 3, {.stride = 1, .padding = 1, .count_include_pad = false})));
        },
        [](std::span<const Tensor> p) { return sum(square(nn::adaptive_avg_pool2d(p[0], 1, 1))); },
        [](std::span<const Tensor> p) { return sum(square(nn::adaptive_avg_pool2d(p[0], 3, 4))); },
    };
    for (size_t k = 0; k < std::size(pools); ++k) {
      CAPTURE(k);
      CHECK_GRADCHECK(gradcheck(pools[k], in));
      CHECK_GRADCHECK(gradgradcheck(pools[k], in, {.projections = 3}));
      CHECK_GRADCHECK(gradcheck(pools[k], in3));
    }
  }

  TEST_CASE("a small CNN as modules: names, shapes, nn::gradcheck and nn::gradgradcheck in float64") {
    Tape tape;
    std::mt19937_64 rng(7);
    nn::Sequential model{nn::Conv2d(1, 4, 3, rng, {.padding = 1}),
                         nn::ReLU(),
                         nn::MaxPool2d(2),
                         nn::Conv2d(4, 6, 3, rng, {.stride = 1, .padding = 1, .groups = 2}, /*bias=*/false),
                         nn::AvgPool2d(2),
                         nn::AdaptiveAvgPool2d(1),
                         nn::Flatten(),
                         nn::Linear(6, 3, rng)};
    const nn::NamedTensors params = model.named_parameters();
    REQUIRE(params.size() == 5);
    CHECK(params[0].first == "0.weight");
    CHECK(params[0].second.shape() == Shape{4, 1, 3, 3});
    CHECK(params[1].first == "0.bias");
    CHECK(params[2].first == "3.weight");
    CHECK(params[2].second.shape() == Shape{6, 2, 3, 3});
    // PyTorch's initialisation bound 1 / sqrt(fan_in), fan_in = 1 * 3 * 3.
    for (int64_t i = 0; i < params[0].second.numel(); ++i) CHECK(std::abs(params[0].second.value().at(i)) <= 1.0 / 3.0);
    const Tensor x(random_array({3, 1, 8, 8}, 8));
    const std::vector<int64_t> labels = {0, 2, 1};
    CHECK(model(x).shape() == Shape{3, 3});
    CHECK_GRADCHECK(nn::gradcheck(model, [&] { return nn::cross_entropy(model(x), labels); }));
    CHECK_GRADCHECK(nn::gradgradcheck(model, [&] { return nn::cross_entropy(model(x), labels); }, {.projections = 4}));
  }

  TEST_CASE("Unflatten turns flat images back into [batch, channels, height, width]") {
    Tape tape;
    nn::Unflatten unflatten({1, 4, 3});
    const Tensor x(random_array({2, 12}, 3));
    const Tensor y = unflatten(x);
    CHECK(y.shape() == Shape{2, 1, 4, 3});
    for (int64_t i = 0; i < 24; ++i) CHECK(y.value().at(i) == x.value().at(i));
    try {
      unflatten(Tensor(random_array({2, 10}, 1)));
      FAIL("no error");
    } catch (const ShapeError& e) {
      CHECK(std::string(e.what()).find("[batch, 12]") != std::string::npos);
      CHECK(std::string(e.what()).find("[2, 10]") != std::string::npos);
    }
  }

  TEST_CASE("bad shapes name the layer and both shapes") {
    Tape tape;
    std::mt19937_64 rng(1);
    nn::Conv2d conv(3, 8, 3, rng);
    const auto message = [](auto&& f) { return test::message_of<Error>(f); };
    const std::string three_d = message([&] { conv(Tensor(random_array({3, 5, 5}, 1))); });
    CHECK(three_d.find("conv2d") != std::string::npos);
    CHECK(three_d.find("[3, 5, 5]") != std::string::npos);
    CHECK(three_d.find("[8, 3, 3, 3]") != std::string::npos);
    const std::string too_small = message([&] { conv(Tensor(random_array({1, 3, 2, 2}, 1))); });
    CHECK(too_small.find("larger than the padded input") != std::string::npos);
    CHECK(too_small.find("[1, 3, 2, 2]") != std::string::npos);
    const std::string channels = message([&] { conv(Tensor(random_array({1, 4, 5, 5}, 1))); });
    CHECK(channels.find("[1, 4, 5, 5]") != std::string::npos);
    CHECK(channels.find("[8, 3, 3, 3]") != std::string::npos);
    CHECK(message([&] { nn::Conv2d(3, 8, 3, rng, {.groups = 2}); }).find("divisible by groups") != std::string::npos);
    CHECK(message([&] {
            nn::conv2d(Tensor(random_array({1, 4, 5, 5}, 1)), Tensor(random_array({6, 2, 3, 3}, 2)), Tensor(),
                       {.groups = 3});
          }).find("not divisible by groups") != std::string::npos);
    CHECK(message([&] {
            nn::max_pool2d(Tensor(random_array({1, 1, 2, 2}, 1)), 3);
          }).find("larger than the padded") != std::string::npos);
    CHECK(message([&] {
            nn::max_pool2d(Tensor(random_array({1, 1, 4, 4}, 1)), 2, {.padding = 2});
          }).find("half the kernel") != std::string::npos);
    CHECK(message([&] { nn::avg_pool2d(Tensor(random_array({4, 4}, 1)), 2); }).find("[4, 4]") != std::string::npos);
  }
}
