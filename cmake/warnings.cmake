# The one place the project's warning flags live: for our own targets only, linked PRIVATE, so
# consumers do not inherit them. TAPEGRAD_WERROR (on in every preset, so in CI, for g++ and clang)
# makes them errors.
add_library(tapegrad_warnings INTERFACE)
target_compile_options(tapegrad_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
  # clang reports an `omp simd` loop it could not vectorise (a loop calling libm, say): the pragma
  # is a hint there, and the loop is still correct.
  $<$<CXX_COMPILER_ID:Clang>:-Wno-pass-failed>
  $<$<BOOL:${TAPEGRAD_WERROR}>:-Werror>)
