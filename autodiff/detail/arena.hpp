#pragma once
// Bump allocator for backward closures and small per-op data. reset() keeps every block, so a
// reused tape allocates nothing once warm. Objects placed here must be trivially destructible.
#include <cstddef>
#include <memory>
#include <vector>

namespace tapegrad::detail {

class Arena {
 public:
  void* allocate(size_t bytes, size_t align) {
    for (;;) {
      for (; block_ < blocks_.size(); ++block_, offset_ = 0) {
        Block& b = blocks_[block_];
        const size_t start = (offset_ + align - 1) & ~(align - 1);
        if (start + bytes <= b.size) {
          offset_ = start + bytes;
          return b.data.get() + start;
        }
      }
      // Same recording sequence, same blocks: a warm tape never gets here.
      blocks_.push_back(make(std::max(kBlock, bytes + align)));
      block_ = blocks_.size() - 1;
      offset_ = 0;
    }
  }
  void reset() {
    block_ = 0;
    offset_ = 0;
  }

 private:
  static constexpr size_t kBlock = 64 * 1024;
  struct Block {
    std::unique_ptr<std::byte[]> data;
    size_t size;
  };
  static Block make(size_t n) { return Block{std::make_unique<std::byte[]>(n), n}; }
  std::vector<Block> blocks_;
  size_t block_ = 0;
  size_t offset_ = 0;
};

}  // namespace tapegrad::detail
