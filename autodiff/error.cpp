#include "autodiff/error.hpp"

#include <cstdio>
#include <cstdlib>

namespace tapegrad::detail {

void assert_fail(const char* cond, const char* file, int line) {
  std::fprintf(stderr, "tapegrad internal error: %s at %s:%d\n", cond, file, line);
  std::abort();
}

}  // namespace tapegrad::detail
