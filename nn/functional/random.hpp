#pragma once
/// \file
/// Random draws and seeds shared by the tape's dropout ops and the tape-free references, so that one generator
/// state gives the same masks in both (no tape here: nn/reference may include it).
#include <cmath>
#include <cstdint>
#include <random>

namespace tapegrad::nn {

/// The seed of stream `index` derived from `seed` (splitmix64's output function): independent
/// streams for a module's children, a loader's epochs, a trainer's ranks.
inline uint64_t mix_seed(uint64_t seed, uint64_t index) {
  uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (index + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/// A uniform draw in [0, 1) with 53 random bits (the same stream on every platform, unlike
/// std::uniform_real_distribution).
inline double uniform01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

/// mask[i] = 0 with probability `drop` (in [0, 1]), else `kept`, for i < n: each 64-bit draw gives
/// two 32-bit uniforms u, and an element is dropped when u < drop 2^32 (rounded to the nearest
/// integer; drop is exact to 2^-32). Twice the throughput of one double per element.
template <class T>
void draw_mask(T* mask, int64_t n, double drop, T kept, std::mt19937_64& rng) {
  const auto threshold = static_cast<uint64_t>(std::nearbyint(std::ldexp(drop, 32)));
  int64_t i = 0;
  for (; i + 1 < n; i += 2) {
    const uint64_t word = rng();
    mask[i] = (word & 0xffffffffu) < threshold ? T(0) : kept;
    mask[i + 1] = (word >> 32) < threshold ? T(0) : kept;
  }
  if (i < n) mask[i] = (rng() & 0xffffffffu) < threshold ? T(0) : kept;
}

}  // namespace tapegrad::nn
