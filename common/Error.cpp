#include "common/Error.hpp"

#include <fmt/format.h>

#include <cstring>

namespace weft {

Error system_error(std::string_view what, int err, std::source_location loc) {
  std::string_view file = loc.file_name();
  if (auto slash = file.rfind('/'); slash != std::string_view::npos) {
    file.remove_prefix(slash + 1);
  }
  // Running out of descriptors says which limit, so the operator knows what to raise.
  std::string_view limit = err == EMFILE   ? " (the process's RLIMIT_NOFILE)"
                           : err == ENFILE ? " (the system's fs.file-max)"
                                           : "";
  return Error{Error::Kind::System, err,
               fmt::format("{}: {}{} ({}:{})", what, std::strerror(err), limit, file, loc.line())};
}

Error make_error(Error::Kind kind, std::string message) {
  return Error{kind, 0, std::move(message)};
}

}  // namespace weft
