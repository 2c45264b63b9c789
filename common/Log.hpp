// One line per event on stderr: "<utc time> <level> <event> key=value ...".
// stdout is never used: in weft-cni it carries the CNI protocol.
#pragma once

#include <fmt/format.h>

#include <string_view>

namespace weft::log {

enum class Level { Debug = 0, Info = 1, Warn = 2, Error = 3 };

/// Sets the lowest level written; the process calls this once at startup.
void set_level(Level level);
/// Parses "debug" / "info" / "warn" / "error".
bool parse_level(std::string_view text, Level& out);
/// Names the program in every line; `name` must outlive the process (a string literal).
void set_program(const char* name);
bool enabled(Level level);
/// Writes one complete line with a single write(2), so lines from threads never interleave.
void write(Level level, std::string_view event, std::string_view fields);

template <class... Args>
void emit(Level level, std::string_view event, fmt::format_string<Args...> fmt_str,
          Args&&... args) {
  if (enabled(level)) {
    write(level, event, fmt::format(fmt_str, std::forward<Args>(args)...));
  }
}

template <class... Args>
void debug(std::string_view event, fmt::format_string<Args...> f, Args&&... args) {
  emit(Level::Debug, event, f, std::forward<Args>(args)...);
}
template <class... Args>
void info(std::string_view event, fmt::format_string<Args...> f, Args&&... args) {
  emit(Level::Info, event, f, std::forward<Args>(args)...);
}
template <class... Args>
void warn(std::string_view event, fmt::format_string<Args...> f, Args&&... args) {
  emit(Level::Warn, event, f, std::forward<Args>(args)...);
}
template <class... Args>
void error(std::string_view event, fmt::format_string<Args...> f, Args&&... args) {
  emit(Level::Error, event, f, std::forward<Args>(args)...);
}

}  // namespace weft::log
