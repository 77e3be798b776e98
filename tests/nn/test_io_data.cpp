// Checkpoints (round trip, corruption, truncation, another model, full disk, a killed writer) and
// the IDX reader, data sets and loader (files made here), with mutation tests that assert the
// outcome of every input: a clean ValueError, or a valid result.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <random>

#include "autodiff/autodiff.hpp"
#include "fuzz/targets.hpp"
#include "nn/nn.hpp"
#include "support/check.hpp"

using namespace tapegrad;
namespace fs = std::filesystem;

namespace {

fs::path temp_dir(const char* name) {
  const fs::path dir = fs::temp_directory_path() / fmt::format("tapegrad-test-{}-{}", name, ::getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

nn::Sequential make_model(uint64_t seed, int64_t hidden = 8) {
  std::mt19937_64 rng(seed);
  return nn::Sequential{nn::Linear(4, hidden, rng), nn::BatchNorm1d(hidden), nn::ReLU(), nn::Linear(hidden, 3, rng)};
}

void train_steps(nn::Module& model, nn::optim::Optimizer& opt, int steps) {
  std::mt19937_64 rng(3);
  const Tensor x = Tensor::randn({6, 4}, rng);
  const std::vector<int64_t> y{0, 1, 2, 0, 1, 2};
  Tape tape;
  for (int s = 0; s < steps; ++s) {
    tape.clear();
    opt.zero_grad();
    Tensor loss = nn::cross_entropy(model(x), y);
    loss.backward();
    opt.step();
  }
}

std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}
void write_bytes(const fs::path& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }

bool same_values(const nn::Module& a, const nn::Module& b) {
  const auto pa = a.named_parameters(), pb = b.named_parameters();
  for (size_t i = 0; i < pa.size(); ++i)
    if (pa[i].second.value().to_vector() != pb[i].second.value().to_vector()) return false;
  const auto ba = a.named_buffers(), bb = b.named_buffers();
  for (size_t i = 0; i < ba.size(); ++i)
    if (ba[i].second.value().to_vector() != bb[i].second.value().to_vector()) return false;
  return true;
}

std::string idx_bytes(std::vector<uint32_t> dims, const std::vector<uint8_t>& data) {
  std::string s{0, 0, 0x08, static_cast<char>(dims.size())};
  for (uint32_t d : dims)
    for (int k = 3; k >= 0; --k) s += static_cast<char>((d >> (8 * k)) & 0xff);
  s.append(data.begin(), data.end());
  return s;
}
void write_gz(const fs::path& p, const std::string& bytes) {
  gzFile f = gzopen(p.c_str(), "wb");
  REQUIRE(f);
  REQUIRE(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) == static_cast<int>(bytes.size()));
  REQUIRE(gzclose(f) == Z_OK);
}

}  // namespace

TEST_SUITE("checkpoints") {
  TEST_CASE("round trip is bit-exact: parameters, buffers, optimizer state, extras") {
    const fs::path dir = temp_dir("ckpt");
    auto model = make_model(1);
    nn::optim::Adam opt(model.parameters(), {.lr = 0.01});
    train_steps(model, opt, 3);
    nn::save_checkpoint((dir / "a.tgc").string(), model, opt, {{"epoch", Array::scalar(3)}});
    auto other = make_model(2);
    nn::optim::Adam other_opt(other.parameters(), {.lr = 0.5});
    nn::NamedArrays extra;
    nn::load_checkpoint((dir / "a.tgc").string(), other, other_opt, &extra);
    CHECK(same_values(model, other));
    CHECK(other_opt.lr() == 0.01);
    CHECK(other_opt.steps() == 3);
    REQUIRE(extra.size() == 1);
    CHECK(extra[0].first == "epoch");
    CHECK(extra[0].second.item() == 3.0);
    // continuing both gives identical parameters (the optimizer state came along)
    train_steps(model, opt, 2);
    train_steps(other, other_opt, 2);
    CHECK(same_values(model, other));
    fs::remove_all(dir);
  }

  TEST_CASE("corrupted, truncated, foreign files and another model are refused; nothing half-loads") {
    const fs::path dir = temp_dir("ckpt-bad");
    auto model = make_model(1);
    nn::optim::SGD opt(model.parameters(), {.lr = 0.1, .momentum = 0.9});
    train_steps(model, opt, 1);
    const fs::path good = dir / "good.tgc";
    nn::save_checkpoint(good.string(), model, opt);
    const std::string bytes = read_bytes(good);
    auto target = make_model(5);
    nn::optim::SGD target_opt(target.parameters(), {.lr = 0.1, .momentum = 0.9});
    auto untouched = make_model(5);
    auto refused = [&](const std::string& content, const std::string& expected) {
      write_bytes(dir / "bad.tgc", content);
      const auto msg =
          test::message_of<ValueError>([&] { nn::load_checkpoint((dir / "bad.tgc").string(), target, target_opt); });
      CHECK_MESSAGE(test::contains(msg, expected), msg);
      CHECK(same_values(target, untouched));
    };
    std::string flipped = bytes;
    flipped[bytes.size() / 2] ^= 0x10;
    refused(flipped, "checksum");
    refused(bytes.substr(0, bytes.size() - 9), "checksum");
    refused(bytes.substr(0, 5), "magic");
    refused("not a checkpoint at all", "magic");
    auto wide = make_model(1, 16);
    nn::optim::SGD wide_opt(wide.parameters(), {.lr = 0.1, .momentum = 0.9});
    nn::save_checkpoint((dir / "wide.tgc").string(), wide, wide_opt);
    refused(read_bytes(dir / "wide.tgc"), "0.weight");
    nn::optim::Adam adam(target.parameters(), {});
    const auto msg = test::message_of<ValueError>([&] { nn::load_checkpoint(good.string(), target, adam); });
    CHECK(test::contains(msg, "Adam"));
    CHECK(same_values(target, untouched));
    CHECK(
        test::contains(test::message_of<ValueError>([&] { nn::load_checkpoint(dir.string(), target); }), "directory"));
    fs::remove_all(dir);
  }

  TEST_CASE("every mutation of a checkpoint is refused cleanly or loads a valid model") {
    const fs::path dir = temp_dir("ckpt-mut");
    auto model = make_model(1);
    nn::save_checkpoint((dir / "m.tgc").string(), model);
    const std::string bytes = read_bytes(dir / "m.tgc");
    std::mt19937_64 rng(4);
    int refused = 0, loaded = 0;
    for (int trial = 0; trial < 300; ++trial) {
      std::string m = bytes;
      const int edits = 1 + static_cast<int>(rng() % 4);
      for (int e = 0; e < edits; ++e) {
        const size_t at = rng() % m.size();
        switch (rng() % 3) {
          case 0: m[at] = static_cast<char>(rng()); break;
          case 1: m.erase(at, 1 + rng() % 16); break;
          default: m.insert(at, std::string(1 + rng() % 16, static_cast<char>(rng()))); break;
        }
      }
      write_bytes(dir / "x.tgc", m);
      auto target = make_model(2);
      try {
        nn::load_checkpoint((dir / "x.tgc").string(), target);
        ++loaded;
        CHECK(same_values(target, model));  // only an unchanged file can pass the checksum here
      } catch (const ValueError&) {
        ++refused;
      }
    }
    CHECK(refused + loaded == 300);
    CHECK(refused > 250);
    fs::remove_all(dir);
  }

  TEST_CASE("a full disk raises; a writer killed midway leaves the previous checkpoint intact") {
    auto model = make_model(1);
    if (fs::exists("/dev/full")) {
      const auto msg = test::message_of<Error>([&] { nn::save_checkpoint("/dev/full", model); });
      CHECK(test::contains(msg, "/dev/full"));
    }
    const fs::path dir = temp_dir("ckpt-kill");
    const std::string path = (dir / "c.tgc").string();
    nn::save_checkpoint(path, model);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {  // keeps overwriting the checkpoint with a bigger model until killed
      auto big = make_model(9, 4096);
      for (;;) nn::save_checkpoint(path, big);
    }
    ::usleep(30000);
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    auto back = make_model(3);
    auto big_back = make_model(7, 4096);
    bool old_ok = false, new_ok = false;
    try {
      nn::load_checkpoint(path, back);
      old_ok = same_values(back, model);
    } catch (const ValueError&) {
    }
    try {
      nn::load_checkpoint(path, big_back);
      new_ok = true;
    } catch (const ValueError&) {
    }
    CHECK((old_ok || new_ok));  // the file is one complete checkpoint, never a torn one
    // whatever temporary file the killed writer left, the next save removes it (issue 20, item 16)
    nn::save_checkpoint(path, model);
    for (const auto& entry : fs::directory_iterator(dir)) CHECK(entry.path().filename() == "c.tgc");
    fs::remove_all(dir);
  }

  // Issue 20, item 16.
  TEST_CASE("saving keeps the file's mode and a symlink, and removes temporaries of dead writers only") {
    const fs::path dir = temp_dir("atomic");
    const fs::path file = dir / "f.txt";
    nn::write_file_atomically(file.string(), "one");
    CHECK((fs::status(file).permissions() & fs::perms::all) ==
          (fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read));
    fs::permissions(file, fs::perms::owner_read | fs::perms::owner_write);  // 0600
    nn::write_file_atomically(file.string(), "two");
    CHECK((fs::status(file).permissions() & fs::perms::all) == (fs::perms::owner_read | fs::perms::owner_write));
    fs::create_symlink("f.txt", dir / "link");
    nn::write_file_atomically((dir / "link").string(), "three");
    CHECK(fs::is_symlink(fs::symlink_status(dir / "link")));
    CHECK(nn::read_file(file.string(), "t") == "three");
    // a dead writer's temporary (its pid gone) is removed; a live one's is left alone
    char host[256] = {};
    REQUIRE(::gethostname(host, sizeof(host) - 1) == 0);
    for (char* c = host; *c; ++c)
      if (*c == '.' || *c == '/') *c = '_';
    const pid_t dead = ::fork();
    REQUIRE(dead >= 0);
    if (dead == 0) ::_exit(0);
    ::waitpid(dead, nullptr, 0);
    const fs::path stale = dir / fmt::format(".f.txt.tmp.{}.{}.abcdef", host, dead);
    const fs::path live = dir / fmt::format(".f.txt.tmp.{}.{}.abcdef", host, ::getpid());
    write_bytes(stale, "partial");
    write_bytes(live, "being written");
    nn::write_file_atomically(file.string(), "four");
    CHECK(!fs::exists(stale));
    CHECK(fs::exists(live));
    fs::remove_all(dir);
  }
}

TEST_SUITE("data") {
  TEST_CASE("IDX: good files (gzip and plain), and every malformed one named") {
    const fs::path dir = temp_dir("idx");
    std::vector<uint8_t> pixels(2 * 3 * 4);
    for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i * 10);
    write_gz(dir / "train-images-idx3-ubyte.gz", idx_bytes({2, 3, 4}, pixels));
    write_bytes(dir / "train-labels-idx1-ubyte", idx_bytes({2}, {7, 1}));
    const nn::Dataset d = nn::load_mnist(dir.string(), nn::Split::train);
    CHECK(d.size() == 2);
    CHECK(d.features() == 12);
    CHECK(d.images.dtype() == DType::f32);
    CHECK(d.images.at(13) == doctest::Approx(130.0 / 255.0));
    CHECK(d.labels == std::vector<int64_t>{7, 1});
    auto bad = [&](const std::string& bytes, const std::string& expected) {
      write_bytes(dir / "x", bytes);
      const auto msg = test::message_of<ValueError>([&] { (void)nn::read_idx((dir / "x").string()); });
      CHECK_MESSAGE(test::contains(msg, expected), msg);
    };
    bad(idx_bytes({2, 3, 4}, std::vector<uint8_t>(23)), "truncated");
    bad(idx_bytes({2, 3, 4}, std::vector<uint8_t>(25)), "trailing");
    bad(std::string("\x01\x02\x08\x01\0\0\0\x01x", 9), "magic");
    bad(std::string("\0\0\x0d\x01\0\0\0\x01xxxx", 12), "not supported");
    bad(std::string("\0\0\x08\x09", 4), "dimensions");
    bad(idx_bytes({0xffffffffu, 0xffffffffu, 0xffffffffu}, {}), "16 GiB");
    CHECK(test::contains(test::message_of<ValueError>([&] { (void)nn::load_mnist(dir.string(), nn::Split::test); }),
                         "t10k-images-idx3-ubyte"));
    CHECK(test::contains(
        test::message_of<ValueError>([&] { (void)nn::load_mnist((dir / "nope").string(), nn::Split::test); }),
        "dataset-fashion-mnist"));
    write_bytes(dir / "t10k-images-idx3-ubyte", idx_bytes({3, 2, 2}, std::vector<uint8_t>(12)));
    write_bytes(dir / "t10k-labels-idx1-ubyte", idx_bytes({2}, {0, 1}));
    CHECK(test::contains(test::message_of<ValueError>([&] { (void)nn::load_mnist(dir.string(), nn::Split::test); }),
                         "3 images"));
    fs::remove_all(dir);
  }

  // Issue 20, item 5: the reader used to inflate the whole stream before reading the header.
  TEST_CASE("IDX: a gzip bomb is refused after the declared size, not inflated whole") {
    const fs::path dir = temp_dir("idx_bomb");
    std::string bomb = idx_bytes({28, 28}, std::vector<uint8_t>(784, 1));
    bomb.resize(bomb.size() + (size_t{64} << 20), '\0');  // 64 MiB of zeros after the declared 784 bytes
    write_gz(dir / "bomb.gz", bomb);
    CHECK(fs::file_size(dir / "bomb.gz") < (size_t{1} << 20));
    bomb = {};
    const auto msg = test::message_of<ValueError>([&] { (void)nn::read_idx((dir / "bomb.gz").string()); });
    // The message cannot name the stream's full size: reading stopped one byte past the data.
    CHECK_MESSAGE(test::contains(msg, "need 784 data bytes but the file has more (trailing data)"), msg);
    fs::remove_all(dir);
  }

  TEST_CASE("every mutation of an IDX file is refused cleanly or parses to a consistent result") {
    const std::string good = idx_bytes({3, 2, 2}, std::vector<uint8_t>(12, 5));
    CHECK(test::load_idx_bytes(good) == test::Outcome::loaded);
    std::mt19937_64 rng(8);
    int loaded = 0;
    for (int trial = 0; trial < 2000; ++trial) {
      std::string m = good;
      const size_t at = rng() % m.size();
      if (rng() % 2)
        m[at] = static_cast<char>(rng());
      else
        m.erase(at, 1 + rng() % 4);
      std::string problem;
      const test::Outcome outcome = test::load_idx_bytes(m, &problem);
      CHECK_MESSAGE(outcome != test::Outcome::broken, problem);
      loaded += outcome == test::Outcome::loaded;
    }
    CHECK(loaded > 100);  // data-byte mutations still parse
  }

  TEST_CASE("fuzz corpora: every seed file loads") {
    const fs::path corpus = fs::path(TAPEGRAD_SOURCE_DIR) / "tests/fuzz/corpus";
    for (const char* f : {"idx/images.idx", "idx/labels.idx"})
      CHECK(test::load_idx_bytes(read_bytes(corpus / f)) == test::Outcome::loaded);
    CHECK(test::load_checkpoint_bytes(read_bytes(corpus / "checkpoint/small.tgc")) == test::Outcome::loaded);
    CHECK(test::load_network_bytes(read_bytes(corpus / "network/small.json")) == test::Outcome::loaded);
  }

  TEST_CASE("checkpoint bytes: mutations behind a valid checksum are refused cleanly or re-encode exactly") {
    const fs::path dir = temp_dir("ckpt-bytes");
    auto model = make_model(1);
    nn::optim::Adam opt(model.parameters(), {.lr = 1e-2});
    train_steps(model, opt, 2);
    nn::save_checkpoint((dir / "m.tgc").string(), model, opt);
    const std::string bytes = read_bytes(dir / "m.tgc");
    fs::remove_all(dir);
    CHECK(test::load_checkpoint_bytes(bytes) == test::Outcome::loaded);
    std::mt19937_64 rng(5);
    int refused = 0;
    for (int trial = 0; trial < 3000; ++trial) {
      std::string m = bytes;
      const size_t at = rng() % (m.size() - 4);
      switch (rng() % 3) {
        case 0: m[at] = static_cast<char>(rng()); break;
        case 1: m.erase(at, 1 + rng() % 16); break;
        default: m.insert(at, std::string(1 + rng() % 16, static_cast<char>(rng()))); break;
      }
      for (const std::string& candidate : {m, test::with_valid_checksum(m)}) {
        std::string problem;
        const test::Outcome outcome = test::load_checkpoint_bytes(candidate, &problem);
        CHECK_MESSAGE(outcome != test::Outcome::broken, problem);
        refused += outcome == test::Outcome::refused;
      }
    }
    CHECK(refused > 3000);  // every unfixed mutant, and the structural ones behind a valid checksum
  }

  TEST_CASE("loader: batches cover the data once, the shuffle is seeded per epoch, drop_last") {
    nn::Dataset d;
    d.images = Array(Shape{10, 2});
    for (int64_t i = 0; i < 20; ++i) d.images.set(i, double(i / 2));
    for (int64_t i = 0; i < 10; ++i) d.labels.push_back(i);
    nn::DataLoader loader(d, {.batch_size = 4, .seed = 3});
    CHECK(loader.num_batches() == 3);
    auto epoch_order = [&](int64_t e) {
      loader.set_epoch(e);
      std::vector<int64_t> seen;
      for (int64_t b = 0; b < loader.num_batches(); ++b) {
        auto [x, y] = loader.batch(b);
        for (size_t i = 0; i < y.size(); ++i) {
          CHECK(x.value().at(static_cast<int64_t>(i) * 2) == double(y[i]));  // rows follow their labels
          seen.push_back(y[i]);
        }
      }
      return seen;
    };
    const auto e0 = epoch_order(0), e1 = epoch_order(1), e0_again = epoch_order(0);
    CHECK(e0 == e0_again);
    CHECK(e0 != e1);
    auto sorted = e0;
    std::sort(sorted.begin(), sorted.end());
    CHECK(sorted == std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
    nn::DataLoader dropping(d, {.batch_size = 4, .shuffle = false, .drop_last = true});
    CHECK(dropping.num_batches() == 2);
    CHECK_THROWS_AS(dropping.batch(2), ValueError);
    CHECK_THROWS_AS(nn::DataLoader(d, {.batch_size = 0}), ValueError);
    // Shards split every batch: together they are the unsharded batches, in order.
    for (const int64_t shards : {1, 3, 4}) {
      nn::DataLoader whole(d, {.batch_size = 3, .seed = 5});
      std::vector<nn::DataLoader> parts;
      for (int64_t s = 0; s < shards; ++s)
        parts.emplace_back(d, nn::LoaderOptions{.batch_size = 3, .seed = 5, .shards = shards, .shard = s});
      whole.set_epoch(2);
      for (auto& p : parts) p.set_epoch(2);
      CHECK(whole.num_batches() == 4);
      for (int64_t b = 0; b < whole.num_batches(); ++b) {
        auto [x, y] = whole.batch(b);
        const std::vector<int64_t> expected(y.begin(), y.end());
        std::vector<int64_t> joined;
        for (auto& p : parts) {
          CHECK(p.batch_rows(b) == (b == 3 ? 1 : 3));
          auto [px, py] = p.batch(b);
          CHECK(px.shape()[0] == static_cast<int64_t>(py.size()));
          for (size_t i = 0; i < py.size(); ++i) CHECK(px.value().at(static_cast<int64_t>(i) * 2) == double(py[i]));
          joined.insert(joined.end(), py.begin(), py.end());
        }
        CHECK(joined == expected);  // 4 shards of a 3-row batch: one shard gets nothing
      }
    }
    CHECK_THROWS_WITH_AS(nn::DataLoader(d, {.shards = 2, .shard = 2}), doctest::Contains("shard 2 of 2"), ValueError);
    CHECK_THROWS_AS(nn::DataLoader(d, {.shards = 0}), ValueError);
    CHECK_THROWS_AS(nn::DataLoader(d, {.shard = -1}), ValueError);
  }
}

// Issue 20, items 11 and 12.
// Found by fuzz_checkpoint once item 11 stopped bounding each dimension by the bytes left: two
// dimensions whose product passes 2^62 (but not 2^64) reached Shape, which threw ShapeError instead
// of the loader's ValueError.
TEST_CASE("checkpoint bytes: dimensions whose product passes the element limit are refused by name") {
  const auto le = [](uint64_t v, int n) {  // n little-endian bytes
    std::string out;
    for (int k = 0; k < n; ++k) out += static_cast<char>((v >> (8 * k)) & 0xff);
    return out;
  };
  // magic, version 1, 1 entry: name "w", float64, rank 2, dims 2^40 x 2^23; then the CRC's 4 bytes
  std::string bytes = std::string("TGCKPT\r\n") + le(1, 4) + le(1, 4) + le(1, 4) + "w" + le(1, 1) + le(2, 1) +
                      le(uint64_t{1} << 40, 8) + le(uint64_t{1} << 23, 8) + le(0, 4);
  CHECK(test::load_checkpoint_bytes(bytes) != test::Outcome::broken);
  CHECK(test::load_checkpoint_bytes(test::with_valid_checksum(bytes)) != test::Outcome::broken);
  const std::string msg =
      test::message_of<ValueError>([&] { (void)nn::checkpoint_from_bytes(test::with_valid_checksum(bytes), "mem"); });
  CHECK_MESSAGE(test::contains(msg, "entry 'w' has an impossible dimension 8388608"), msg);
}

TEST_CASE("checkpoint bytes: empty arrays of any shape round-trip") {
  const nn::NamedArrays entries{{"empty_rows", Array(Shape{0, 64})},
                                {"empty_middle", Array(Shape{3, 0, 1000000}, DType::f32)},
                                {"scalar", Array::scalar(2.5)}};
  const nn::NamedArrays back = nn::checkpoint_from_bytes(nn::checkpoint_to_bytes(entries), "mem");
  REQUIRE(back.size() == entries.size());
  for (size_t i = 0; i < back.size(); ++i) {
    CHECK(back[i].first == entries[i].first);
    CHECK(back[i].second.shape() == entries[i].second.shape());
    CHECK(back[i].second.dtype() == entries[i].second.dtype());
  }
}

TEST_CASE("read_file: a device or pipe is read up to a bound, a regular file to its size") {
  const auto msg =
      test::message_of<ValueError>([] { (void)nn::read_file("/dev/zero", "checkpoint", uint64_t{1} << 20); });
  CHECK(test::contains(msg, "'/dev/zero' is not a regular file and gives more than 1048576 bytes"));
  CHECK(nn::read_file("/dev/null", "checkpoint").empty());
  const fs::path dir = temp_dir("read_file");
  std::string big(300000, 'x');
  big[123456] = 'y';
  write_bytes(dir / "big", big);
  CHECK(nn::read_file((dir / "big").string(), "t") == big);
  write_bytes(dir / "empty", "");
  CHECK(nn::read_file((dir / "empty").string(), "t").empty());
  fs::remove_all(dir);
}

// Issue 20, items 13 and 14: the test set must not choose the architecture, and the splits must fit.
TEST_CASE("check_splits: the training labels decide the classes; a foreign test label, other shapes, no pixels") {
  const auto split = [](Shape image, std::vector<int64_t> labels) {
    nn::Dataset d;
    d.image_shape = image;
    d.labels = std::move(labels);
    d.images = Array(Shape{static_cast<int64_t>(d.labels.size()), image.numel()}, DType::f32);
    return d;
  };
  const nn::Dataset train = split({2, 2}, {0, 3, 1, 2});
  CHECK(nn::check_splits(train, split({2, 2}, {3, 0})) == 4);
  CHECK(test::contains(test::message_of<ValueError>([&] {
                         (void)nn::check_splits(train, split({2, 2}, {1, 77}));
                       }),
                       "test example 1 has label 77, but the training set's labels are 0 to 3"));
  CHECK(test::contains(test::message_of<ValueError>([&] {
                         (void)nn::check_splits(train, split({3, 3}, {1}));
                       }),
                       "the training images are [2, 2] and the test images [3, 3]"));
  CHECK(test::contains(test::message_of<ValueError>([&] {
                         (void)nn::check_splits(split({0, 0}, {0}), train);
                       }),
                       "no pixels"));
  CHECK(test::contains(test::message_of<ValueError>([&] {
                         (void)nn::check_splits(split({2, 2}, {}), train);
                       }),
                       "no examples"));
}

// Issue 20, item 22.
TEST_CASE("DataLoader: a batch size near INT64_MAX is one batch of everything, shards split it") {
  nn::Dataset d;
  d.labels = {0, 1, 2, 3, 4};
  d.images = Array(Shape{5, 2}, DType::f32);
  d.image_shape = Shape{1, 2};
  nn::DataLoader all(d, {.batch_size = std::numeric_limits<int64_t>::max(), .shuffle = false});
  CHECK(all.num_batches() == 1);
  CHECK(all.batch(0).y.size() == 5);
  nn::DataLoader shard(d, {.batch_size = std::numeric_limits<int64_t>::max() - 1,
                           .shuffle = false,
                           .shards = std::numeric_limits<int64_t>::max(),
                           .shard = 3});
  CHECK(shard.num_batches() == 1);
  CHECK(shard.batch(0).y.size() <= 1);
  int64_t rows = 0;
  for (int64_t k = 0; k < 8; ++k) rows += shard.shard_rows(0, std::numeric_limits<int64_t>::max() - 1 - k);
  CHECK(rows <= 5);
}
