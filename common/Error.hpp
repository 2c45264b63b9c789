// Error values for weft: every fallible call returns Result<T> = std::expected<T, Error>.
// Exceptions are reserved for startup/config boundaries and are caught in main().
#pragma once

#include <cerrno>
#include <expected>
#include <source_location>
#include <string>
#include <string_view>

namespace weft {

/// What went wrong, in one line an operator can act on.
struct Error {
  enum class Kind {
    System,    ///< a syscall failed; `errnum` holds errno
    Config,    ///< bad configuration (file, flag, CNI stdin)
    Protocol,  ///< malformed bytes from a peer or a file
    NotFound,  ///< a lookup missed
    Timeout,   ///< a deadline passed
  };
  Kind kind = Kind::System;
  int errnum = 0;
  std::string message;
};

template <class T>
using Result = std::expected<T, Error>;

/// A failed syscall: "what: strerror(err) (file:line)".
Error system_error(std::string_view what, int err = errno,
                   std::source_location loc = std::source_location::current());

/// Any other failure kind with a plain message.
Error make_error(Error::Kind kind, std::string message);

/// Shorthand for `std::unexpected(system_error(...))`.
inline std::unexpected<Error> fail_errno(
    std::string_view what, int err = errno,
    std::source_location loc = std::source_location::current()) {
  return std::unexpected(system_error(what, err, loc));
}

/// Shorthand for `std::unexpected(make_error(...))`.
inline std::unexpected<Error> fail(Error::Kind kind, std::string message) {
  return std::unexpected(make_error(kind, std::move(message)));
}

}  // namespace weft
