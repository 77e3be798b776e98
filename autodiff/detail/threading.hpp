#pragma once
// Internal: the thread settings as the kernels read them.
#include <cstdint>

namespace tapegrad::detail {

/// Sets the BLAS's thread count for a product of this many multiply-adds (1 when small).
void prepare_blas(int64_t multiply_adds);

}  // namespace tapegrad::detail
