#include "nn/io/checkpoint.hpp"

#include <zlib.h>

#include <bit>
#include <cstring>
#include <map>
#include <set>

#include "nn/io/atomic_file.hpp"

namespace tapegrad::nn {

static_assert(std::endian::native == std::endian::little, "the checkpoint format is little-endian");

namespace {

// Layout: magic[8] | u32 version | u32 entries | entries... | u32 crc32 of everything before it.
// Entry: u32 name length | name | u8 dtype (0 f32, 1 f64) | u8 rank | i64 dims[rank] | data.
constexpr char kMagic[8] = {'T', 'G', 'C', 'K', 'P', 'T', '\r', '\n'};
constexpr uint32_t kVersion = 1;
constexpr uint32_t kMaxName = 4096;

template <class T>
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof(T));
}

void put_entry(std::string& out, const std::string& name, const Array& a) {
  put<uint32_t>(out, static_cast<uint32_t>(name.size()));
  out += name;
  put<uint8_t>(out, a.dtype() == DType::f32 ? 0 : 1);
  put<uint8_t>(out, static_cast<uint8_t>(a.rank()));
  for (int64_t d : a.shape().dims()) put<int64_t>(out, d);
  const size_t bytes = static_cast<size_t>(a.numel()) * (a.dtype() == DType::f32 ? 4 : 8);
  if (bytes) out.append(reinterpret_cast<const char*>(a.data<char>()), bytes);
}

uint32_t crc_of(std::string_view bytes) {
  uLong crc = crc32(0L, Z_NULL, 0);
  for (size_t done = 0; done < bytes.size();) {  // crc32 takes a uInt length
    const size_t n = std::min<size_t>(bytes.size() - done, 1u << 30);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(bytes.data() + done), static_cast<uInt>(n));
    done += n;
  }
  return static_cast<uint32_t>(crc);
}

/// Reads fields from the bytes, with every length checked against what is left.
class Reader {
 public:
  Reader(std::string_view bytes, const std::string& path) : bytes_(bytes), path_(path) {}
  template <class T>
  T get(const char* what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, bytes_.data() + at_, sizeof(T));
    at_ += sizeof(T);
    return v;
  }
  std::string_view take(size_t n, const char* what) {
    need(n, what);
    std::string_view s = bytes_.substr(at_, n);
    at_ += n;
    return s;
  }
  size_t left() const { return bytes_.size() - at_; }
  [[noreturn]] void bad(const std::string& why) const {
    raise<ValueError>("checkpoint '{}': {} (at byte {})", path_, why, at_);
  }

 private:
  void need(size_t n, const char* what) const {
    if (n > left()) bad(fmt::format("truncated: {} needs {} bytes, {} left", what, n, left()));
  }
  std::string_view bytes_;
  const std::string& path_;
  size_t at_ = 0;
};

}  // namespace

std::string checkpoint_to_bytes(const NamedArrays& entries) {
  std::string out(kMagic, sizeof(kMagic));
  put<uint32_t>(out, kVersion);
  put<uint32_t>(out, static_cast<uint32_t>(entries.size()));
  for (const auto& [name, a] : entries) put_entry(out, name, a);
  put<uint32_t>(out, crc_of(out));
  return out;
}

NamedArrays checkpoint_from_bytes(std::string_view bytes, const std::string& path) {
  Reader whole(bytes, path);
  if (bytes.size() < sizeof(kMagic) || std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0)
    whole.bad("not a tapegrad checkpoint (wrong magic)");
  Reader r(bytes.substr(0, bytes.size() - std::min<size_t>(bytes.size(), 4)), path);
  r.take(sizeof(kMagic), "the magic");
  const uint32_t version = r.get<uint32_t>("the version");
  if (version != kVersion)
    r.bad(fmt::format("format version {} is not supported (this build reads {})", version, kVersion));
  uint32_t stored_crc;
  std::memcpy(&stored_crc, bytes.data() + bytes.size() - 4, 4);
  if (stored_crc != crc_of(bytes.substr(0, bytes.size() - 4))) whole.bad("checksum mismatch: the file is corrupted");
  const uint32_t count = r.get<uint32_t>("the entry count");
  NamedArrays out;
  std::set<std::string> names;
  for (uint32_t e = 0; e < count; ++e) {
    const uint32_t len = r.get<uint32_t>("a name length");
    if (len == 0 || len > kMaxName) r.bad(fmt::format("entry {} has a name of {} bytes", e, len));
    std::string name(r.take(len, "a name"));
    const uint8_t code = r.get<uint8_t>("a dtype");
    if (code > 1) r.bad(fmt::format("entry '{}' has unknown dtype code {}", name, code));
    const DType dtype = code == 0 ? DType::f32 : DType::f64;
    const uint8_t rank = r.get<uint8_t>("a rank");
    if (rank > kMaxRank) r.bad(fmt::format("entry '{}' has rank {} (at most {})", name, rank, kMaxRank));
    std::array<int64_t, kMaxRank> dims{};
    uint64_t numel = 1;
    const uint64_t elem = dtype == DType::f32 ? 4 : 8;
    for (int d = 0; d < rank; ++d) {
      dims[static_cast<size_t>(d)] = r.get<int64_t>("a dimension");
      const int64_t n = dims[static_cast<size_t>(d)];
      // (Not bounded by the bytes left: an empty [0, 64] array holds no data, whatever its other
      // dimensions; the element count is checked against them below.)
      if (n < 0 || n > kMaxElements || __builtin_mul_overflow(numel, static_cast<uint64_t>(n), &numel) ||
          numel > static_cast<uint64_t>(kMaxElements))
        r.bad(fmt::format("entry '{}' has an impossible dimension {}", name, n));
    }
    if (numel > r.left() / elem)
      r.bad(fmt::format("entry '{}' claims {} elements, more than the file holds", name, numel));
    Array a(Shape(std::span<const int64_t>(dims.data(), rank)), dtype);
    const std::string_view data = r.take(numel * elem, "the data");
    if (!data.empty()) std::memcpy(a.data<char>(), data.data(), data.size());
    if (!names.insert(name).second) r.bad(fmt::format("entry '{}' appears twice", name));
    out.emplace_back(std::move(name), std::move(a));
  }
  if (r.left() != 0) r.bad(fmt::format("{} unexpected bytes after the last entry", r.left()));
  return out;
}

namespace {

NamedArrays model_entries(const Module& model) {
  NamedArrays out;
  for (const auto& [name, t] : model.named_parameters()) out.emplace_back("model/" + name, t.value());
  for (const auto& [name, t] : model.named_buffers()) out.emplace_back("model/" + name, t.value());
  return out;
}

void save(const std::string& path, const Module& model, const optim::Optimizer* opt, const NamedArrays& extra) {
  NamedArrays entries = model_entries(model);
  if (opt)
    for (auto& [name, a] : opt->state()) entries.emplace_back("optim/" + name, std::move(a));
  for (const auto& [name, a] : extra) entries.emplace_back("extra/" + name, a);
  write_file_atomically(path, checkpoint_to_bytes(entries));
}

void load(const std::string& path, Module& model, optim::Optimizer* opt, NamedArrays* extra) {
  const NamedArrays entries = read_checkpoint(path);
  std::map<std::string, const Array*> saved;
  for (const auto& [name, a] : entries) saved[name] = &a;
  // 1. the model: every parameter and buffer present with its shape and dtype, nothing else
  NamedTensors targets = model.named_parameters();
  for (auto& b : model.named_buffers()) targets.push_back(b);
  size_t model_count = 0;
  for (const auto& [name, a] : entries) model_count += name.rfind("model/", 0) == 0;
  for (const auto& [name, t] : targets) {
    const auto it = saved.find("model/" + name);
    if (it == saved.end()) raise<ValueError>("checkpoint '{}': it has no '{}' (saved from another model?)", path, name);
    const Array& a = *it->second;
    if (!(a.shape() == t.shape()) || a.dtype() != t.dtype())
      raise<ValueError>("checkpoint '{}': '{}' is {} {} there but {} {} in the model", path, name, a.shape(),
                        dtype_name(a.dtype()), t.shape(), dtype_name(t.dtype()));
  }
  if (model_count != targets.size())
    raise<ValueError>("checkpoint '{}': it holds {} model tensors, the model has {} (saved from another model?)", path,
                      model_count, targets.size());
  // 2. the optimizer (validates everything before it changes anything)
  if (opt) {
    NamedArrays state;
    for (const auto& [name, a] : entries)
      if (name.rfind("optim/", 0) == 0) state.emplace_back(name.substr(6), a);
    if (state.empty()) raise<ValueError>("checkpoint '{}': it holds no optimizer state", path);
    try {
      opt->load_state(state);
    } catch (const ValueError& e) {
      raise<ValueError>("checkpoint '{}': {}", path, e.what());
    }
  }
  // 3. all checked: copy the model's values
  for (auto& [name, t] : targets) t.mutable_value().assign(*saved.at("model/" + name));
  if (extra) {
    extra->clear();
    for (const auto& [name, a] : entries)
      if (name.rfind("extra/", 0) == 0) extra->emplace_back(name.substr(6), a);
  }
}

}  // namespace

NamedArrays read_checkpoint(const std::string& path) {
  return checkpoint_from_bytes(read_file(path, "checkpoint"), path);
}

void save_checkpoint(const std::string& path, const Module& model, const optim::Optimizer& optimizer,
                     const NamedArrays& extra) {
  save(path, model, &optimizer, extra);
}
void save_checkpoint(const std::string& path, const Module& model) { save(path, model, nullptr, {}); }

void load_checkpoint(const std::string& path, Module& model, optim::Optimizer& optimizer, NamedArrays* extra) {
  load(path, model, &optimizer, extra);
}
void load_checkpoint(const std::string& path, Module& model) { load(path, model, nullptr, nullptr); }

}  // namespace tapegrad::nn
