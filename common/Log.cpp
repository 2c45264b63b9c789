#include "common/Log.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>

namespace weft::log {
namespace {

// The level and program name are set once in main() before threads start; atomics keep the
// later reads from worker threads well-defined.
std::atomic<int> g_level{static_cast<int>(Level::Info)};
std::atomic<const char*> g_program{"weft"};

constexpr std::string_view level_name(Level level) {
  switch (level) {
    case Level::Debug:
      return "debug";
    case Level::Info:
      return "info";
    case Level::Warn:
      return "warn";
    case Level::Error:
      return "error";
  }
  return "?";
}

}  // namespace

void set_level(Level level) {
  g_level.store(static_cast<int>(level));
}

bool parse_level(std::string_view text, Level& out) {
  for (Level l : {Level::Debug, Level::Info, Level::Warn, Level::Error}) {
    if (text == level_name(l)) {
      out = l;
      return true;
    }
  }
  return false;
}

void set_program(const char* name) {
  g_program.store(name);
}

bool enabled(Level level) {
  return static_cast<int>(level) >= g_level.load();
}

void write(Level level, std::string_view event, std::string_view fields) {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  std::string line =
      fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z {} {} {}{}{}\n", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms % 1000,
                  g_program.load(), level_name(level), event, fields.empty() ? "" : " ", fields);
  // A short write to stderr is not worth retrying: logging must never stall the caller.
  [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace weft::log
