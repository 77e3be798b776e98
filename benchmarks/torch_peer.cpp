#include "torch_peer.hpp"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <cmath>

namespace bench {

namespace {

class TorchMlpStep : public PeerStep {
 public:
  TorchMlpStep(const MlpSpec& spec, const MlpBatch& batch) {
    torch::manual_seed(42);
    int64_t in = MlpSpec::kInputs;
    for (int64_t l = 0; l + 1 < spec.depth; ++l) {
      model_->push_back(torch::nn::Linear(in, spec.width));
      if (spec.bn_dropout) model_->push_back(torch::nn::BatchNorm1d(spec.width));
      model_->push_back(torch::nn::ReLU());
      if (spec.bn_dropout) model_->push_back(torch::nn::Dropout(MlpSpec::kDropout));
      in = spec.width;
    }
    model_->push_back(torch::nn::Linear(in, MlpSpec::kClasses));
    model_->train();
    x_ = torch::from_blob(const_cast<float*>(batch.x.data()), {spec.batch, MlpSpec::kInputs}).clone();
    y_ = torch::from_blob(const_cast<int64_t*>(batch.y.data()), {spec.batch}, torch::kInt64).clone();
    optimizer_ = std::make_unique<torch::optim::SGD>(model_->parameters(), torch::optim::SGDOptions(MlpSpec::kLr));
  }
  void step() override {
    optimizer_->zero_grad();
    torch::Tensor loss = torch::nn::functional::cross_entropy(model_->forward(x_), y_);
    loss.backward();
    optimizer_->step();
  }

 private:
  torch::nn::Sequential model_;
  torch::Tensor x_, y_;
  std::unique_ptr<torch::optim::SGD> optimizer_;
};

class TorchEpoch : public PeerStep {
 public:
  TorchEpoch(const Batches& batches, bool cnn) : batches_(batches) {
    torch::manual_seed(42);
    int64_t in = batches.features;
    if (cnn) {
      auto side = static_cast<int64_t>(std::lround(std::sqrt(double(in))));
      model_->push_back(torch::nn::Unflatten(torch::nn::UnflattenOptions(1, {1, side, side})));
      int64_t channels = 1;
      for (int64_t w : {32, 64}) {
        for (int conv = 0; conv < 2; ++conv) {
          model_->push_back(
              torch::nn::Conv2d(torch::nn::Conv2dOptions(conv == 0 ? channels : w, w, 3).padding(1).bias(false)));
          model_->push_back(torch::nn::BatchNorm2d(w));
          model_->push_back(torch::nn::ReLU());
        }
        model_->push_back(torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(2)));
        channels = w;
        side /= 2;
      }
      model_->push_back(torch::nn::Flatten());
      in = channels * side * side;
    }
    for (int64_t width : {512, 256}) {
      model_->push_back(torch::nn::Linear(in, width));
      model_->push_back(torch::nn::BatchNorm1d(width));
      model_->push_back(torch::nn::ReLU());
      model_->push_back(torch::nn::Dropout(0.2));
      in = width;
    }
    model_->push_back(torch::nn::Linear(in, batches.classes));
    model_->train();
    optimizer_ = std::make_unique<torch::optim::Adam>(model_->parameters(), torch::optim::AdamOptions(1e-3));
  }
  void step() override {
    namespace F = torch::nn::functional;
    for (size_t b = 0; b < batches_.x.size(); ++b) {
      const auto m = static_cast<int64_t>(batches_.y[b].size());
      const torch::Tensor x = torch::from_blob(const_cast<float*>(batches_.x[b].data()), {m, batches_.features});
      const torch::Tensor y = torch::from_blob(const_cast<int64_t*>(batches_.y[b].data()), {m}, torch::kInt64);
      optimizer_->zero_grad();
      torch::Tensor loss = F::cross_entropy(model_->forward(x), y, F::CrossEntropyFuncOptions().label_smoothing(0.1));
      loss.backward();
      optimizer_->step();
    }
  }

 private:
  const Batches& batches_;
  torch::nn::Sequential model_;
  std::unique_ptr<torch::optim::Adam> optimizer_;
};

torch::Tensor to_torch(const tapegrad::Array& a) {
  std::vector<int64_t> dims(a.shape().dims().begin(), a.shape().dims().end());
  return torch::from_blob(const_cast<double*>(a.data<double>()), dims, torch::kFloat64).clone();
}

class TorchHvpStep : public PeerStep {
 public:
  TorchHvpStep(const std::vector<tapegrad::Array>& params, const std::vector<tapegrad::Array>& direction,
               const tapegrad::Array& x, const std::vector<int64_t>& y, bool hvp)
      : hvp_(hvp) {
    for (const auto& p : params) params_.push_back(to_torch(p).requires_grad_(true));
    for (const auto& d : direction) direction_.push_back(to_torch(d));
    x_ = to_torch(x);
    y_ = torch::from_blob(const_cast<int64_t*>(y.data()), {static_cast<int64_t>(y.size())}, torch::kInt64).clone();
  }
  void step() override {
    torch::Tensor h = x_;
    for (size_t l = 0; l < params_.size(); l += 2) {
      h = torch::nn::functional::linear(h, params_[l], params_[l + 1]);
      if (l + 2 < params_.size()) h = torch::relu(h);
    }
    const torch::Tensor loss = torch::nn::functional::cross_entropy(h, y_);
    if (!hvp_) {
      grads_ = torch::autograd::grad({loss}, params_);
      return;
    }
    const auto g = torch::autograd::grad({loss}, params_, {}, /*retain_graph=*/true, /*create_graph=*/true);
    torch::Tensor dot = torch::zeros({}, torch::kFloat64);
    for (size_t i = 0; i < g.size(); ++i) dot = dot + (g[i] * direction_[i]).sum();
    grads_ = torch::autograd::grad({dot}, params_);
  }

 private:
  bool hvp_;
  std::vector<torch::Tensor> params_, direction_, grads_;
  torch::Tensor x_, y_;
};

torch::Tensor to_torch_f32(const tapegrad::Array& a) {
  std::vector<int64_t> dims(a.shape().dims().begin(), a.shape().dims().end());
  return torch::from_blob(const_cast<float*>(a.data<float>()), dims, torch::kFloat32).clone();
}

class TorchConvStep : public PeerStep {
 public:
  TorchConvStep(const tapegrad::Array& x, const tapegrad::Array& w, const tapegrad::Array& b,
                const tapegrad::Array& grad_y, int64_t stride, int64_t padding)
      : x_(to_torch_f32(x).requires_grad_(true)),
        w_(to_torch_f32(w).requires_grad_(true)),
        b_(to_torch_f32(b).requires_grad_(true)),
        gy_(to_torch_f32(grad_y)),
        stride_(stride),
        padding_(padding) {}
  void step() override {
    for (torch::Tensor* t : {&x_, &w_, &b_}) t->mutable_grad() = torch::Tensor();
    const torch::Tensor y = torch::conv2d(x_, w_, b_, stride_, padding_);
    (y * gy_).sum().backward();
  }

 private:
  torch::Tensor x_, w_, b_, gy_;
  int64_t stride_, padding_;
};

class TorchLstmStep : public PeerStep {
 public:
  TorchLstmStep(int64_t input, int64_t hidden, int64_t layers, const tapegrad::Array& x,
                const tapegrad::Array& grad_out)
      : lstm_(torch::nn::LSTMOptions(input, hidden).num_layers(layers)),
        x_(to_torch_f32(x)),
        gy_(to_torch_f32(grad_out)) {}
  void step() override {
    lstm_->zero_grad();
    const torch::Tensor out = std::get<0>(lstm_->forward(x_));
    (out * gy_).sum().backward();
  }

 private:
  torch::nn::LSTM lstm_;
  torch::Tensor x_, gy_;
};

}  // namespace

std::unique_ptr<PeerStep> make_torch_conv_step(const tapegrad::Array& x, const tapegrad::Array& w,
                                               const tapegrad::Array& b, const tapegrad::Array& grad_y, int64_t stride,
                                               int64_t padding) {
  return std::make_unique<TorchConvStep>(x, w, b, grad_y, stride, padding);
}

std::unique_ptr<PeerStep> make_torch_lstm_step(int64_t input, int64_t hidden, int64_t layers, const tapegrad::Array& x,
                                               const tapegrad::Array& grad_out) {
  return std::make_unique<TorchLstmStep>(input, hidden, layers, x, grad_out);
}

std::unique_ptr<PeerStep> make_torch_hvp_step(const std::vector<tapegrad::Array>& params,
                                              const std::vector<tapegrad::Array>& direction, const tapegrad::Array& x,
                                              const std::vector<int64_t>& y, bool hvp) {
  return std::make_unique<TorchHvpStep>(params, direction, x, y, hvp);
}

std::unique_ptr<PeerStep> make_torch_epoch(const Batches& batches, bool cnn) {
  return std::make_unique<TorchEpoch>(batches, cnn);
}

std::unique_ptr<PeerStep> make_torch_mlp_step(const MlpSpec& spec, const MlpBatch& batch) {
  return std::make_unique<TorchMlpStep>(spec, batch);
}

void set_torch_threads(int threads) { at::set_num_threads(threads); }

std::string torch_description() {
  return "libtorch " + std::string(TORCH_VERSION) + "\n" + at::get_parallel_info() + at::show_config();
}

}  // namespace bench
