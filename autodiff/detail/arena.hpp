#pragma once
// Bump allocator for backward closures and small per-op data. reset() keeps every block, so a
// reused tape allocates nothing once warm. Objects placed here must be trivially destructible.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace tapegrad::detail {

class Arena {
 public:
  /// bytes > 0; align a power of two. Inline: every recorded op places its closure here.
  void* allocate(size_t bytes, size_t align) {
    const uintptr_t start = (reinterpret_cast<uintptr_t>(next_) + align - 1) & ~(align - 1);
    if (next_ && start + bytes <= reinterpret_cast<uintptr_t>(end_)) [[likely]] {
      next_ = reinterpret_cast<std::byte*>(start + bytes);
      return next_ - bytes;
    }
    return allocate_from_next_block(bytes, align);
  }
  /// Everything allocated is free again; the blocks are kept.
  void reset() {
    used_ = 0;
    next_ = end_ = nullptr;
  }

 private:
  // The next block, made if there is none yet or it is too small (a warm tape, recording the same
  // sequence, finds its blocks already made).
  void* allocate_from_next_block(size_t bytes, size_t align) {
    while (used_ < blocks_.size() && blocks_[used_].size < bytes + align) ++used_;
    if (used_ == blocks_.size()) blocks_.push_back(make(std::max(kBlock, bytes + align)));
    Block& b = blocks_[used_++];
    next_ = b.data.get();
    end_ = next_ + b.size;
    return allocate(bytes, align);
  }

  static constexpr size_t kBlock = 64 * 1024;
  struct Block {
    std::unique_ptr<std::byte[]> data;
    size_t size;
  };
  static Block make(size_t n) { return Block{std::make_unique<std::byte[]>(n), n}; }
  std::vector<Block> blocks_;
  size_t used_ = 0;  // blocks_[0, used_) handed out since reset(); the last is [next_, end_)
  std::byte* next_ = nullptr;
  std::byte* end_ = nullptr;
};

}  // namespace tapegrad::detail
