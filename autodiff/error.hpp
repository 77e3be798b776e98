#pragma once
/// \file
/// The error hierarchy. Users catch tapegrad::Error; tests match on the subtype.
/// Messages follow "<op>: <what is wrong>, got <lhs> and <rhs>".
#include <fmt/core.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

namespace tapegrad {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};
/// Shape, rank, axis or broadcast mismatch.
struct ShapeError : Error {
  using Error::Error;
};
/// Tape misuse: stale handle, two tapes mixed, backward twice, no active tape, ...
struct TapeError : Error {
  using Error::Error;
};
/// A bad argument value: hyperparameter, index out of range, mixed float/double operands.
struct ValueError : Error {
  using Error::Error;
};
/// Anomaly mode: an op produced a non-finite value or gradient.
struct NumericError : Error {
  using Error::Error;
};

/// Untrusted text for an error message: quoted, and cut to its first `max` bytes with the length
/// said ("'abc...' (10485760 bytes)"), so a huge input never floods the message.
inline std::string quote_excerpt(std::string_view text, size_t max = 40) {
  if (text.size() <= max) return fmt::format("'{}'", text);
  return fmt::format("'{}...' ({} bytes)", text.substr(0, max), text.size());
}

/// Throws E (Error by default) with a fmt-formatted message: `raise<ValueError>("bad {}", x)`.
template <class E = Error, class... Args>
[[noreturn]] void raise(fmt::format_string<Args...> format, Args&&... args) {
  throw E(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace tapegrad

/// Internal invariant (a library bug, never reachable from user input): abort with file:line.
#define TAPEGRAD_ASSERT(cond) ((cond) ? void(0) : ::tapegrad::detail::assert_fail(#cond, __FILE__, __LINE__))

namespace tapegrad::detail {
[[noreturn]] inline void assert_fail(const char* cond, const char* file, int line) {
  std::fprintf(stderr, "tapegrad internal error: %s at %s:%d\n", cond, file, line);
  std::abort();
}
}  // namespace tapegrad::detail
