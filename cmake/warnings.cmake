# Warnings for our own targets only: linked PRIVATE, so consumers do not inherit them.
add_library(tapegrad_warnings INTERFACE)
target_compile_options(tapegrad_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor $<$<BOOL:${TAPEGRAD_WERROR}>:-Werror>)
