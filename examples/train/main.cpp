// tapegrad-train: trains a classifier on an MNIST-format data set (Fashion-MNIST by default) with
// the library's layers, optimizers, data loader and checkpoints. See `tapegrad-train --help`.
#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <limits>
#include <memory>
#include <random>
#include <thread>

#include "autodiff/autodiff.hpp"
#include "interrupt.hpp"
#include "nn/nn.hpp"
#include "progress.hpp"
#include "ranks.hpp"
#include "report.hpp"

using namespace tapegrad;
namespace fs = std::filesystem;

namespace {

struct Config {
  int epochs = 30;
  int64_t batch_size = 128;
  double lr = 1e-3;
  std::string optimizer = "adam";
  double dropout = 0.2;
  double dropconnect = 0.0;  // drop probability of a connection (keep = 1 - this)
  std::string batch_norm = "full";
  std::vector<int64_t> hidden{512, 256};  // --hidden, parsed by parse_widths
  std::string model = "mlp";
  std::vector<int64_t> channels{32, 64};  // --channels (the CNN's), parsed by parse_widths
  std::string network;
  double label_smoothing = 0.1;
  int shift = 0;      // augmentation: random shifts of up to this many pixels
  bool flip = false;  // augmentation: mirror half the images left to right
  double weight_decay = 0.0;
  uint64_t seed = 1;
  int threads = 0;
  std::string data = nn::kFashionMnistDir;
  std::string out = "tapegrad-run";
  std::string resume;
  bool eval_only = false;
  bool record_every_step = false;  // off: a step recorded once is replayed for the batches after it
  int64_t limit = 0;               // train and test on the first this many examples (0: all)
  int stop_after = 0;              // stop after this epoch, to be resumed later (0: run every epoch)
};

/// The first n examples of a data set.
void keep_first(nn::Dataset& d, int64_t n) {
  if (n <= 0 || n >= d.size()) return;
  const int64_t f = d.features();
  Array head(Shape{n, f}, d.images.dtype());
  for (int64_t i = 0; i < n * f; ++i) head.set(i, d.images.at(i));
  d.images = std::move(head);
  d.labels.resize(static_cast<size_t>(n));
}

/// The fully connected layers of --hidden on `width` inputs, then the classifier.
void add_dense_layers(const Config& c, nn::Sequential& model, int64_t width, int64_t classes, std::mt19937_64& rng) {
  for (int64_t h : c.hidden) {
    nn::Linear layer(width, h, rng);
    if (c.dropconnect > 0)
      model.push_back(nn::DropConnect(std::move(layer), 1.0 - c.dropconnect));
    else
      model.push_back(std::move(layer));
    if (c.batch_norm != "none")
      model.push_back(
          nn::BatchNorm1d(h, {.mode = c.batch_norm == "seed" ? nn::BatchNormMode::seed : nn::BatchNormMode::full}));
    model.push_back(nn::ReLU());
    if (c.dropout > 0) model.push_back(nn::Dropout(c.dropout));
    width = h;
  }
  model.push_back(nn::Linear(width, classes, rng));
}

/// --model cnn: square one-channel images; per width of --channels two 3x3 convolutions (padding 1),
/// each with batch norm (unless --batch-norm none) and ReLU, then 2x2 max pooling; then the dense
/// layers of --hidden.
std::unique_ptr<nn::Module> make_cnn(const Config& c, int64_t in, int64_t classes, std::mt19937_64& rng) {
  const auto side = static_cast<int64_t>(std::lround(std::sqrt(static_cast<double>(in))));
  if (side * side != in) throw Error(fmt::format("--model cnn needs square images, got {} features", in));
  auto model = std::make_unique<nn::Sequential>();
  model->push_back(nn::Unflatten({1, side, side}));
  const nn::BatchNormOptions bn{.mode = c.batch_norm == "seed" ? nn::BatchNormMode::seed : nn::BatchNormMode::full};
  int64_t channels = 1, size = side;
  for (int64_t w : c.channels) {
    for (int conv = 0; conv < 2; ++conv) {
      model->push_back(nn::Conv2d(conv == 0 ? channels : w, w, 3, rng, {.padding = 1}, c.batch_norm == "none"));
      if (c.batch_norm != "none") model->push_back(nn::BatchNorm2d(w, bn));
      model->push_back(nn::ReLU());
    }
    if (size < 2)
      throw Error(
          fmt::format("--channels {}: too many poolings for {}x{} images", fmt::join(c.channels, ","), side, side));
    model->push_back(nn::MaxPool2d(2));
    channels = w;
    size /= 2;
  }
  model->push_back(nn::Flatten());
  add_dense_layers(c, *model, channels * size * size, classes, rng);
  return model;
}

/// The MLP of --hidden.
std::unique_ptr<nn::Module> make_mlp(const Config& c, int64_t in, int64_t classes, std::mt19937_64& rng) {
  auto model = std::make_unique<nn::Sequential>();
  add_dense_layers(c, *model, in, classes, rng);
  return model;
}

std::unique_ptr<nn::optim::Optimizer> make_optimizer(const Config& c, const std::vector<Tensor>& params) {
  namespace optim = nn::optim;
  if (c.optimizer == "sgd")
    return std::make_unique<optim::SGD>(params, optim::SGDOptions{.lr = c.lr, .weight_decay = c.weight_decay});
  if (c.optimizer == "momentum")
    return std::make_unique<optim::SGD>(params,
                                        optim::SGDOptions{.lr = c.lr, .momentum = 0.9, .weight_decay = c.weight_decay});
  if (c.optimizer == "adam")
    return std::make_unique<optim::Adam>(params, optim::AdamOptions{.lr = c.lr, .weight_decay = c.weight_decay});
  return std::make_unique<optim::AdamW>(params, optim::AdamWOptions{.lr = c.lr, .weight_decay = c.weight_decay});
}

/// Moves each image of the batch by up to `shift` pixels in x and y (the background comes in at the
/// edges) and, with `flip`, mirrors it left to right with probability 1/2; `buffer` is scratch
/// reused across batches.
void augment_images(Array& x, const Shape& image, int shift, bool flip, std::mt19937_64& rng,
                    std::vector<float>& buffer) {
  const int64_t rows = image[0], cols = image[1];
  buffer.resize(static_cast<size_t>(rows * cols));
  float* data = x.data<float>();
  for (int64_t i = 0; i < x.shape()[0]; ++i) {
    const int64_t dy = shift > 0 ? static_cast<int64_t>(rng() % (2 * shift + 1)) - shift : 0;
    const int64_t dx = shift > 0 ? static_cast<int64_t>(rng() % (2 * shift + 1)) - shift : 0;
    const bool mirror = flip && (rng() & 1) != 0;
    float* img = data + i * rows * cols;
    const float background = *std::min_element(img, img + rows * cols);  // 0 after normalisation
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t col = 0; col < cols; ++col) {
        const int64_t sr = r - dy, sc = (mirror ? cols - 1 - col : col) - dx;
        buffer[static_cast<size_t>(r * cols + col)] =
            sr >= 0 && sr < rows && sc >= 0 && sc < cols ? img[sr * cols + sc] : background;
      }
    std::copy(buffer.begin(), buffer.end(), img);
  }
}

struct Evaluation {
  double loss = 0, accuracy = 0;
  std::vector<std::vector<long>> confusion;
};

/// Each rank evaluates its shard of the test set; the sums are combined over the ranks.
Evaluation evaluate(nn::Module& model, const nn::Dataset& data, int64_t classes, trainer::Ranks& ranks) {
  model.eval();
  nn::DataLoader loader(data, {.batch_size = 1000, .shuffle = false, .shards = ranks.size(), .shard = ranks.rank()});
  Evaluation e;
  e.confusion.assign(static_cast<size_t>(classes), std::vector<long>(static_cast<size_t>(classes)));
  Tape tape;
  NoGradGuard no_grad;
  long correct = 0;
  for (int64_t b = 0; b < loader.num_batches(); ++b) {
    tape.clear();
    auto [x, y] = loader.batch(b);
    if (y.empty()) continue;
    const Tensor logits = model(x);
    e.loss += nn::cross_entropy(logits, y, nn::Reduction::sum).item();
    const Array& z = logits.value();
    for (int64_t i = 0; i < z.shape()[0]; ++i) {
      int64_t best = 0;
      for (int64_t j = 1; j < classes; ++j)
        if (z.at(i * classes + j) > z.at(i * classes + best)) best = j;
      correct += best == y[static_cast<size_t>(i)];
      ++e.confusion[static_cast<size_t>(y[static_cast<size_t>(i)])][static_cast<size_t>(best)];
    }
  }
  std::vector<double> sums{e.loss, double(correct)};  // loss, correct, then the confusion matrix
  for (const auto& row : e.confusion) sums.insert(sums.end(), row.begin(), row.end());
  ranks.sum(sums);
  e.loss = sums[0] / double(data.size());
  e.accuracy = sums[1] / double(data.size());
  for (size_t i = 0; i < e.confusion.size(); ++i)
    for (size_t j = 0; j < e.confusion.size(); ++j)
      e.confusion[i][j] = static_cast<long>(sums[2 + i * e.confusion.size() + j]);
  model.train();
  return e;
}

/// Settings a resumed run must share with the run that wrote the checkpoint and that the model and
/// optimizer state cannot show (batch norm's mode has no parameter of its own; the optimizer's kind
/// is in its state): saved as empty entries whose names carry them.
std::vector<std::pair<std::string, std::string>> resume_settings(const Config& c) {
  return {{"--batch-norm", c.batch_norm}, {"--optimizer", c.optimizer}};
}

nn::NamedArrays history_entries(const std::vector<trainer::EpochMetrics>& history) {
  Array h(Shape{static_cast<int64_t>(history.size()), 5});
  for (size_t i = 0; i < history.size(); ++i) {
    const auto& m = history[i];
    const double row[5] = {double(m.epoch), m.train_loss, m.test_loss, m.test_accuracy, m.seconds};
    for (int k = 0; k < 5; ++k) h.set(static_cast<int64_t>(i) * 5 + k, row[k]);
  }
  return {{"history", std::move(h)}};
}

nn::NamedArrays checkpoint_extras(const Config& c, const std::vector<trainer::EpochMetrics>& history) {
  nn::NamedArrays extras = history_entries(history);
  for (const auto& [option, value] : resume_settings(c))
    extras.emplace_back(fmt::format("setting/{} {}", option, value), Array(Shape{0}));
  return extras;
}

std::vector<trainer::EpochMetrics> history_from(const nn::NamedArrays& extra, const std::string& path) {
  for (const auto& [name, h] : extra)
    if (name == "history") {
      if (h.rank() != 2 || h.shape()[1] != 5) break;
      std::vector<trainer::EpochMetrics> out;
      for (int64_t i = 0; i < h.shape()[0]; ++i)
        out.push_back(
            {static_cast<int>(h.at(i * 5)), h.at(i * 5 + 1), h.at(i * 5 + 2), h.at(i * 5 + 3), h.at(i * 5 + 4)});
      return out;
    }
  throw Error(fmt::format("checkpoint '{}' was not written by tapegrad-train (no training history)", path));
}

/// What a run trains: the data, the model and its optimizer, and the epochs done so far.
struct Session {
  nn::Dataset train, test;
  int64_t classes = 0;
  std::unique_ptr<nn::Module> model;
  std::unique_ptr<nn::optim::Optimizer> opt;
  std::string title;
  std::vector<trainer::EpochMetrics> history;
  nn::SeedModel* seed_model = nullptr;  // the model, when it is a seed network
  bool seed_dropconnect = false;        // ... with DropConnect arrows (keep < 1)
  std::vector<float> shift_buffer;      // augment_images' scratch, reused across batches
};

/// FNV-1a over the 32-bit words of arrays (and of labels): equal on two ranks when the data are.
struct Checksum {
  uint64_t h = 0xcbf29ce484222325ULL;
  void add(uint64_t word) { h = (h ^ word) * 0x100000001b3ULL; }
  void add(const Array& a) {
    const auto* words = a.data<uint32_t>();
    for (int64_t i = 0; i < a.numel() * (a.dtype() == DType::f32 ? 1 : 2); ++i) add(words[i]);
  }
};

uint64_t checksum(const nn::Dataset& d) {
  Checksum c;
  c.add(d.images);
  for (int64_t label : d.labels) c.add(static_cast<uint64_t>(label));
  return c.h;
}

/// What must be the same on every rank of a data-parallel job, one line each so that a difference
/// is named: the data (sizes, a checksum of every image and label), every setting that changes the
/// computation, and where the run starts (epochs done, the optimizer state resumed). The model's
/// structure is compared, and its values broadcast, by Ranks::start. Settings that may differ per
/// rank: --threads (the gradients are averaged, so the models stay equal), --out and --data (paths;
/// the data's checksum is compared) and --resume's path.
std::vector<std::string> job_description(const Config& c, const Session& s) {
  Checksum optimizer_state;
  for (const auto& [name, array] : s.opt->state()) optimizer_state.add(array);
  return {fmt::format("training set: {} examples of {} features, checksum {:016x}", s.train.size(), s.train.features(),
                      checksum(s.train)),
          fmt::format("test set: {} examples, checksum {:016x}", s.test.size(), checksum(s.test)),
          fmt::format("mode: {}", c.eval_only ? "--eval-only" : "training"),
          fmt::format("--epochs {}", c.epochs),
          fmt::format("--stop-after {}", c.stop_after),
          fmt::format("--batch-size {}", c.batch_size),
          fmt::format("--lr {}", c.lr),
          fmt::format("--optimizer {}", c.optimizer),
          fmt::format("--weight-decay {}", c.weight_decay),
          fmt::format("--dropout {}", c.dropout),
          fmt::format("--dropconnect {}", c.dropconnect),
          fmt::format("--batch-norm {}", c.batch_norm),
          fmt::format("--hidden {}", fmt::join(c.hidden, ",")),
          fmt::format("--model {}", c.model),
          fmt::format("--channels {}", fmt::join(c.channels, ",")),
          fmt::format("--network {}", c.network.empty() ? "(none: the MLP)" : "(a seed network)"),
          fmt::format("--label-smoothing {}", c.label_smoothing),
          fmt::format("--shift {}", c.shift),
          fmt::format("--flip {}", c.flip),
          fmt::format("--seed {}", c.seed),
          fmt::format("--limit {}", c.limit),
          fmt::format("epochs done {}, optimizer state checksum {:016x}", s.history.size(), optimizer_state.h)};
}

// ---- setup ----

void use_threads(const Config& c, const trainer::Ranks& ranks) {
  if (c.threads > 0)
    set_num_threads(c.threads);
  else if (ranks.size() > 1)  // the ranks share this machine's cores (one rank per machine: --threads)
    set_num_threads(std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / ranks.size()));
}

/// The output directory, made and probed for writing, and none of its outputs a directory or other
/// non-file: fails before minutes of training.
void prepare_output(const Config& c) {
  std::error_code ec;
  fs::create_directories(c.out, ec);
  if (ec || !fs::is_directory(c.out))
    throw Error(fmt::format("cannot create output directory '{}': {}", c.out, ec.message()));
  for (const char* name : {"last.tgc", "model.tgc", "metrics.csv", "curves.svg", "confusion.csv"}) {
    const fs::path file = fs::path(c.out) / name;
    if (fs::exists(file, ec) && !fs::is_regular_file(file, ec))
      throw Error(fmt::format("output '{}' exists and is not a regular file", file.string()));
  }
  const std::string probe = (fs::path(c.out) / ".tapegrad-write-test").string();
  nn::write_file_atomically(probe, "");  // fails here, with the cause, if the directory is not writable
  fs::remove(probe, ec);
}

/// Both splits, limited to --limit examples and standardised with the training set's statistics.
void load_data(const Config& c, Session& s) {
  s.train = nn::load_mnist(c.data, nn::Split::train);
  s.test = nn::load_mnist(c.data, nn::Split::test);
  keep_first(s.train, c.limit);
  keep_first(s.test, c.limit);
  // The training labels decide the model's outputs; a test label beyond them is an error, never a
  // reason for a bigger model.
  try {
    s.classes = nn::check_splits(s.train, s.test);
  } catch (const ValueError& e) {
    throw Error(fmt::format("data in '{}': {}", c.data, e.what()));
  }
  double sum = 0, sq = 0;
  const float* px = s.train.images.data<float>();
  for (int64_t i = 0; i < s.train.images.numel(); ++i) {
    sum += px[i];
    sq += double(px[i]) * px[i];
  }
  const double mean = sum / double(s.train.images.numel());
  const double stddev = std::sqrt(std::max(sq / double(s.train.images.numel()) - mean * mean, 1e-12));
  nn::normalize(s.train, mean, stddev);
  nn::normalize(s.test, mean, stddev);
}

/// The seed network of --network, or the MLP of --hidden, and its optimizer.
void make_model(const Config& c, Session& s) {
  std::mt19937_64 init(c.seed);
  if (!c.network.empty()) {
    nn::Network net = nn::load_network(c.network);
    if (net.num_inputs() != static_cast<size_t>(s.train.features()) ||
        net.num_outputs() != static_cast<size_t>(s.classes))
      throw Error(fmt::format("network '{}' has {} inputs and {} outputs; the data needs {} and {}", c.network,
                              net.num_inputs(), net.num_outputs(), s.train.features(), s.classes));
    s.model = std::make_unique<nn::SeedModel>(std::move(net));
    s.title = fmt::format("seed network {} on {}", fs::path(c.network).filename().string(), c.data);
  } else if (c.model == "cnn") {
    s.model = make_cnn(c, s.train.features(), s.classes, init);
    s.model->to(DType::f32);
    s.title =
        fmt::format("CNN channels {}, dense {}-{} ({}, batch norm {}, dropout {}) on {}", fmt::join(c.channels, "-"),
                    fmt::join(c.hidden, "-"), s.classes, c.optimizer, c.batch_norm, c.dropout, c.data);
  } else {
    s.model = make_mlp(c, s.train.features(), s.classes, init);
    s.model->to(DType::f32);
    s.title = fmt::format("MLP {}-{}-{} ({}, batch norm {}, dropout {}) on {}", s.train.features(),
                          fmt::join(c.hidden, "-"), s.classes, c.optimizer, c.batch_norm, c.dropout, c.data);
  }
  s.opt = make_optimizer(c, s.model->parameters());
  // A seed network with DropConnect arrows draws its masks per batch; eval scales by keep (eq. 14).
  s.seed_model = dynamic_cast<nn::SeedModel*>(s.model.get());
  s.seed_dropconnect =
      s.seed_model && std::ranges::any_of(s.seed_model->network().edges(), [](const auto& e) { return e.keep < 1.0; });
}

Session setup(const Config& c, trainer::Ranks& ranks) {
  use_threads(c, ranks);
  if (ranks.root()) prepare_output(c);  // rank 0 prints and writes every file
  Session s;
  load_data(c, s);
  make_model(c, s);
  return s;
}

/// Continues from --resume: model, optimizer state and the epochs' history. Every rank reads it
/// (several machines: a shared or copied file).
void resume(const Config& c, Session& s, const trainer::Ranks& ranks) {
  nn::NamedArrays extra;
  nn::load_checkpoint(c.resume, *s.model, *s.opt, &extra);
  s.history = history_from(extra, c.resume);
  for (const auto& [option, value] : resume_settings(c)) {
    const std::string prefix = fmt::format("setting/{} ", option);
    const auto saved = std::ranges::find_if(extra, [&](const auto& e) { return e.first.starts_with(prefix); });
    if (saved == extra.end())
      throw Error(
          fmt::format("checkpoint '{}' does not record {} (written by an older tapegrad-train?)", c.resume, option));
    const std::string saved_value = saved->first.substr(prefix.size());
    if (saved_value != value)
      throw Error(fmt::format("checkpoint '{}' was written with {} {}; this run has {} {}", c.resume, option,
                              saved_value, option, value));
  }
  if (ranks.root()) fmt::print("resumed from '{}' after epoch {}\n", c.resume, s.history.size());
}

// ---- one epoch ----

struct EpochResult {
  bool interrupted = false;
  double seconds = 0, train_loss = 0;
};

/// One pass over the training set, with every random draw derived from (seed, epoch), so a resumed
/// run repeats it exactly. Dropout and augmentation differ per rank (their examples differ);
/// DropConnect's one mask per batch is the same on every rank (eq. 11: one mask per minibatch).
EpochResult train_epoch(const Config& c, Session& s, nn::DataLoader& loader, Tape& tape, int epoch,
                        trainer::Ranks& ranks, const trainer::InterruptWatcher& interrupt, bool terminal) {
  const uint64_t rank_salt = 0x2545f4914f6cdd1dULL * static_cast<uint64_t>(ranks.rank());
  loader.set_epoch(epoch);
  s.model->seed(nn::mix_seed(c.seed, static_cast<uint64_t>(epoch)) ^ rank_salt);
  std::mt19937_64 augment(nn::mix_seed(c.seed ^ 0xa5a5, static_cast<uint64_t>(epoch)) ^ rank_salt);
  std::mt19937_64 dropconnect(nn::mix_seed(c.seed ^ 0x5a5a, static_cast<uint64_t>(epoch)));
  s.opt->set_lr(nn::optim::cosine_lr(c.lr, epoch, c.epochs));
  s.model->train();
  trainer::Progress progress(epoch + 1, c.epochs, loader.num_batches(), terminal);
  EpochResult result;
  // The epoch's first step is recorded on the tape and replayed (Tape::replay) for every batch after
  // it of as many rows: the loader refills its batch tensor and labels in place, the static buffers
  // replay reads. A batch of other rows (the last, smaller one) records its own step. Each epoch
  // records afresh (its DropConnect generator is new). Replay gives the recording's results bit for
  // bit (the trainer test compares with --record-every-step).
  int64_t recorded_rows = -1;  // the rows of the step on the tape; -1: none to replay
  Tensor loss;
  for (int64_t b = 0; b < loader.num_batches(); ++b) {
    if (ranks.any(interrupt.requested())) {  // every rank stops at the same batch
      progress.finish();
      result.interrupted = true;
      return result;
    }
    auto [x, y] = loader.batch(b);
    const auto rows = static_cast<int64_t>(y.size());
    const bool replay = !c.record_every_step && rows > 0 && rows == recorded_rows;
    // One DropConnect mask per minibatch (eq. 11): drawn here for a recording, by the replay itself after.
    if (s.seed_dropconnect && !replay) s.seed_model->draw_mask(dropconnect, y.size());
    if (!replay) tape.clear();
    s.opt->zero_grad();
    if (rows == 0) {
      recorded_rows = -1;
      ranks.backward_nothing();
    } else {
      if (c.shift > 0 || c.flip)
        augment_images(x.mutable_value(), s.train.image_shape, c.shift, c.flip, augment, s.shift_buffer);
      if (replay) {
        tape.replay();
      } else {
        loss = nn::cross_entropy((*s.model)(x), y, nn::Reduction::mean, c.label_smoothing);
        recorded_rows = rows;
      }
      ranks.backward(loss, rows, loader.batch_rows(b));
      progress.update(b, rows, loss.item());
    }
    s.opt->step();
  }
  result.seconds = progress.seconds();
  progress.finish();
  ranks.end_epoch(*s.model);
  double loss_sum[2] = {progress.loss_sum(), double(progress.examples())};  // over all ranks
  ranks.sum(loss_sum);
  result.train_loss = loss_sum[0] / std::max(loss_sum[1], 1.0);
  return result;
}

/// Batch norm normalises by a batch's own statistics, so in training each rank's part of a batch
/// needs 2 rows or more (nn::batch_norm refuses 1). A --batch-size that gives a rank 1 row of a full
/// batch is refused before training; a last batch that would is left out of every epoch (PyTorch's
/// drop_last), with a note, rather than failing at the end of the first epoch.
bool drop_last_batch(const Config& c, const Session& s, const trainer::Ranks& ranks) {
  const nn::NamedTensors buffers = s.model->named_buffers();
  const bool batch_norm =
      std::ranges::any_of(buffers, [](const auto& entry) { return entry.first.ends_with("running_mean"); });
  if (!batch_norm) return false;
  const auto gives_a_rank_one_row = [&](int64_t rows) {  // a batch of `rows` split over the ranks
    for (int64_t rank = 0; rank < ranks.size(); ++rank)
      if (nn::shard_rows(rows, rank, ranks.size()) == 1) return true;
    return false;
  };
  const int64_t n = s.train.size(), remainder = n % c.batch_size;
  if (n >= c.batch_size && gives_a_rank_one_row(c.batch_size))
    throw Error(
        fmt::format("--batch-size {} over {} rank(s) gives a rank 1 row of each batch, and batch norm needs 2 "
                    "or more in training: use --batch-size {} or more, or --batch-norm none",
                    c.batch_size, ranks.size(), 2 * ranks.size()));
  if (remainder == 0 || !gives_a_rank_one_row(remainder)) return false;
  if (n < c.batch_size)
    throw Error(
        fmt::format("the training set's {} example(s) give a rank 1 row over {} rank(s), and batch norm "
                    "needs 2 or more in training: use more examples, or --batch-norm none",
                    n, ranks.size()));
  if (ranks.root())
    fmt::print(
        "note: the last batch of each epoch ({} of {} examples) is left out: over {} rank(s) it gives a rank 1 "
        "row, and batch norm needs 2 or more in training\n",
        remainder, n, ranks.size());
  return true;
}

// ---- reporting (rank 0) ----

/// The epoch's line, then the checkpoint, metrics and curves, each written atomically.
void report_epoch(const Config& c, const Session& s, const std::string& checkpoint) {
  const trainer::EpochMetrics& m = s.history.back();
  fmt::print("epoch {:>3}/{}  train loss {:.4f}  test loss {:.4f}  test accuracy {:.2f}%  {:.1f}s\n", m.epoch, c.epochs,
             m.train_loss, m.test_loss, 100 * m.test_accuracy, m.seconds);
  std::fflush(stdout);
  nn::save_checkpoint(checkpoint, *s.model, *s.opt, checkpoint_extras(c, s.history));
  nn::write_file_atomically((fs::path(c.out) / "metrics.csv").string(), trainer::metrics_csv(s.history));
  nn::write_file_atomically((fs::path(c.out) / "curves.svg").string(), trainer::curves_svg(s.history, s.title));
}

/// The final model and confusion matrix, and the run's summary.
void report_run(const Config& c, const Session& s, const Evaluation& e, const std::string& checkpoint,
                const trainer::Ranks& ranks) {
  double training_seconds = 0;
  for (const auto& m : s.history) training_seconds += m.seconds;
  nn::save_checkpoint((fs::path(c.out) / "model.tgc").string(), *s.model);
  nn::write_file_atomically((fs::path(c.out) / "confusion.csv").string(), trainer::confusion_csv(e.confusion));
  fmt::print("\nconfusion matrix (rows: true class, columns: predicted)\n{}", trainer::confusion_text(e.confusion));
  fmt::print("\ntest accuracy {:.2f}% after {} epochs, {:.1f} s of training ({:.2f} s per epoch)\n", 100 * e.accuracy,
             s.history.size(), training_seconds, training_seconds / double(std::max<size_t>(s.history.size(), 1)));
  if (ranks.size() > 1)
    fmt::print("{} ranks; rank 0 spent {:.2f} s averaging gradients ({:.1f}% of its training time)\n", ranks.size(),
               ranks.reduce_seconds(), 100 * ranks.reduce_seconds() / std::max(training_seconds, 1e-9));
  fmt::print("wrote {}/metrics.csv, {}/curves.svg (open it in a browser), {}/confusion.csv, {}/model.tgc, {}\n", c.out,
             c.out, c.out, c.out, checkpoint);
}

// ---- the run ----

/// --eval-only: the model alone, loaded from last.tgc or the final model.tgc.
int evaluate_only(Session& s, trainer::Ranks& ranks) {
  const Evaluation e = evaluate(*s.model, s.test, s.classes, ranks);
  if (ranks.root())
    fmt::print("test loss {:.4f}, test accuracy {:.2f}%\n{}", e.loss, 100 * e.accuracy,
               trainer::confusion_text(e.confusion));
  return 0;
}

int run(const Config& c, trainer::Ranks& ranks, const trainer::InterruptWatcher& interrupt) {
  Session s = setup(c, ranks);
  if (c.eval_only)
    nn::load_checkpoint(c.resume, *s.model);
  else if (!c.resume.empty())
    resume(c, s, ranks);
  // Every rank, --eval-only or not, agrees on the job before its first collective call.
  ranks.start(*s.model, ranks.size() > 1 ? job_description(c, s) : std::vector<std::string>{});
  if (c.eval_only) return evaluate_only(s, ranks);
  const bool root = ranks.root();
  int64_t params = 0;
  for (const Tensor& p : s.model->parameters()) params += p.numel();
  if (root)
    fmt::print("{}\n{} parameters, {} training and {} test examples, {} thread(s){}, seed {}\n", s.title, params,
               s.train.size(), s.test.size(), num_threads(),
               ranks.size() > 1 ? fmt::format(" on each of {} ranks", ranks.size()) : "", c.seed);
  // --batch-size is the whole batch: each rank takes its shard of it, so N ranks train as one would.
  nn::DataLoader loader(s.train, {.batch_size = c.batch_size,
                                  .shuffle = true,
                                  .drop_last = drop_last_batch(c, s, ranks),
                                  .seed = c.seed,
                                  .shards = ranks.size(),
                                  .shard = ranks.rank()});
  Tape tape;
  const std::string checkpoint = (fs::path(c.out) / "last.tgc").string();
  const bool terminal = root && ::isatty(STDOUT_FILENO);
  const int last_epoch = c.stop_after > 0 ? std::min(c.stop_after, c.epochs) : c.epochs;
  const int first_epoch = static_cast<int>(s.history.size());
  for (int epoch = first_epoch; epoch < last_epoch; ++epoch) {
    const EpochResult r = train_epoch(c, s, loader, tape, epoch, ranks, interrupt, terminal);
    if (r.interrupted) {
      if (root && (s.history.empty() || epoch == first_epoch))
        fmt::print("interrupted before this run completed an epoch: it wrote no checkpoint{}\n",
                   c.resume.empty() ? "" : fmt::format(" ('{}' is unchanged)", c.resume));
      else if (root)
        fmt::print("interrupted: '{}' holds the last completed epoch ({})\n", checkpoint, s.history.size());
      return 130;
    }
    const Evaluation e = evaluate(*s.model, s.test, s.classes, ranks);
    s.history.push_back({epoch + 1, r.train_loss, e.loss, e.accuracy, r.seconds});
    if (root) report_epoch(c, s, checkpoint);
  }
  const Evaluation e = evaluate(*s.model, s.test, s.classes, ranks);
  if (root) report_run(c, s, e, checkpoint, ranks);
  return 0;
}

/// A number option's check: finite, within [lo, hi] (or (lo, hi] when lo_open), named plainly in
/// the error (CLI11's Range lets NaN through and prints DBL_MAX in full).
CLI::Validator number_in(double lo, double hi, bool lo_open = false) {
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(text.c_str(), &end);
        const bool ok = !text.empty() && *end == '\0' && std::isfinite(v) && (lo_open ? v > lo : v >= lo) && v <= hi;
        if (ok) return {};
        const std::string range = hi < 1e300 ? fmt::format("{}{}, {}]", lo_open ? "(" : "[", lo, hi)
                                             : fmt::format("{} {}", lo_open ? ">" : ">=", lo);
        return fmt::format("must be a finite number {}, got '{}'", hi < 1e300 ? "in " + range : range, text);
      },
      "NUMBER");
}

/// Comma-separated layer widths, each a whole number from 1 to 2^20: "" on success, else the error.
std::string parse_widths(const std::string& text, std::vector<int64_t>& widths) {
  widths.clear();
  size_t begin = 0;
  for (;;) {
    const size_t end = std::min(text.find(',', begin), text.size());
    int64_t w = 0;
    const auto [stop, ec] = std::from_chars(text.data() + begin, text.data() + end, w);
    if (begin == end || ec != std::errc() || stop != text.data() + end || w < 1 || w > (int64_t{1} << 20))
      return fmt::format("each width must be a whole number from 1 to 1048576, got '{}' in '{}'",
                         text.substr(begin, end - begin), text);
    widths.push_back(w);
    if (end == text.size()) return {};
    begin = end + 1;
  }
}

/// A non-negative integer option that fits `T` (CLI11 reads "-1" as 2^64 - 1 for an unsigned).
template <class T>
CLI::Validator whole_number(T max = std::numeric_limits<T>::max()) {
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        T v{};
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v < T{0} || v > max)
          return fmt::format("must be a whole number from 0 to {}, got '{}'", max, text);
        return {};
      },
      "INT");
}

}  // namespace

int main(int argc, char** argv) {
  Config c;
  CLI::App app{"tapegrad-train: train a classifier on an MNIST-format data set (default: Fashion-MNIST)"};
  app.add_option("--epochs", c.epochs, "Number of epochs (the rate follows a cosine schedule over them)")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  app.add_option("--batch-size", c.batch_size, "Examples per minibatch")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  app.add_option("--lr", c.lr, "Initial learning rate")->check(number_in(0, 1e308, true))->capture_default_str();
  app.add_option("--optimizer", c.optimizer, "sgd, momentum (SGD with 0.9, seed eq. 26-27), adam or adamw")
      ->check(CLI::IsMember({"sgd", "momentum", "adam", "adamw"}))
      ->capture_default_str();
  app.add_option("--weight-decay", c.weight_decay, "L2 weight decay (decoupled for adamw)")
      ->check(number_in(0, 1e308))
      ->capture_default_str();
  app.add_option("--dropout", c.dropout, "Drop probability of hidden units (0: off)")
      ->check(number_in(0.0, 0.99))
      ->capture_default_str();
  app.add_option("--dropconnect", c.dropconnect,
                 "Drop probability of hidden-layer connections, seed eq. 10-14 (0: off)")
      ->check(number_in(0.0, 0.99))
      ->capture_default_str();
  app.add_option("--batch-norm", c.batch_norm,
                 "none, full (Ioffe-Szegedy) or seed (statistics fixed in backward, eq. 21)")
      ->check(CLI::IsMember({"none", "full", "seed"}))
      ->capture_default_str();
  // Widths are parsed here: CLI11's list splitting drops empty widths silently.
  const CLI::Validator widths_check(
      [](std::string& text) -> std::string {
        std::vector<int64_t> widths;
        return parse_widths(text, widths);
      },
      "WIDTHS");
  std::string hidden = "512,256";
  app.add_option("--hidden", hidden, "Hidden layer widths, e.g. 256,256")->check(widths_check)->capture_default_str();
  app.add_option("--model", c.model, "mlp (the dense layers of --hidden) or cnn (--channels, then --hidden)")
      ->check(CLI::IsMember({"mlp", "cnn"}))
      ->capture_default_str();
  std::string channels = "32,64";
  app.add_option("--channels", channels,
                 "--model cnn: channels of each block of two 3x3 convolutions and a 2x2 max pool")
      ->check(widths_check)
      ->capture_default_str();
  app.add_option("--network", c.network, "Train a seed network (JSON file, 784 inputs, 10 outputs) instead of the MLP")
      ->check(CLI::ExistingFile);
  app.add_option("--label-smoothing", c.label_smoothing, "Cross-entropy label smoothing")
      ->check(number_in(0.0, 1.0))
      ->capture_default_str();
  app.add_option("--shift", c.shift, "Augment: shift training images by up to this many pixels (0: off)")
      ->check(CLI::Range(0, 8))
      ->capture_default_str();
  app.add_flag("--flip", c.flip, "Augment: mirror half the training images left to right");
  app.add_option("--seed", c.seed, "Seed of initialisation, shuffling and dropout (same seed and threads: same run)")
      ->check(whole_number<uint64_t>())
      ->capture_default_str();
  app.add_option("--threads", c.threads, "Threads (0: TAPEGRAD_NUM_THREADS or every core)")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
  app.add_option("--data", c.data, "MNIST-format directory")->capture_default_str();
  app.add_option("--out", c.out, "Output directory: metrics.csv, curves.svg, last.tgc, model.tgc, confusion.csv")
      ->capture_default_str();
  app.add_option("--resume", c.resume, "Continue from a checkpoint written by this program (its out/last.tgc)")
      ->check(CLI::ExistingFile);
  app.add_option("--limit", c.limit, "Use only the first N training and test examples (quick runs; 0: all)")
      ->check(whole_number<int64_t>());
  app.add_option("--stop-after", c.stop_after, "Stop after this epoch; continue later with --resume OUT/last.tgc")
      ->check(whole_number<int>());
  app.add_flag("--eval-only", c.eval_only, "Only evaluate the --resume checkpoint on the test set");
  app.add_flag("--record-every-step", c.record_every_step,
               "Record every step on the tape afresh rather than replay the epoch's first (same results)");
  CLI11_PARSE(app, argc, argv);
  (void)parse_widths(hidden, c.hidden);  // checked by the option
  (void)parse_widths(channels, c.channels);
  if (c.eval_only && c.resume.empty()) {
    fmt::print(stderr, "error: --eval-only needs --resume CHECKPOINT\n");
    return 2;
  }
  try {
    // Ctrl-C, and the SIGTERM mpirun sends every rank when it gets Ctrl-C: stop after the current
    // batch on every rank (they agree on the batch), leaving the last epoch's checkpoint. Made
    // before MPI's and the pools' threads, so that none of them takes the signals (interrupt.hpp).
    const trainer::InterruptWatcher interrupt;
    return trainer::Ranks::run(argc, argv, [&](trainer::Ranks& ranks) { return run(c, ranks, interrupt); });
  } catch (const std::exception& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return 1;
  }
}
