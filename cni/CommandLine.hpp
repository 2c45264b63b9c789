// weft-cni's command line. No arguments is the CNI plugin (the runtime's way of calling it, with
// CNI_* variables and the config on stdin); `install` / `uninstall` run the installer; `--help`
// documents the program and each command. Parsed with CLI11 (see common/CommandTree.hpp).
#pragma once

#include <expected>
#include <span>
#include <string>

#include "cni/Installer.hpp"
#include "common/Log.hpp"

namespace weft::cni {

/// What the process was asked to do.
struct CommandLine {
  enum class Mode { Plugin, Install, Uninstall, Help };
  Mode mode = Mode::Plugin;
  InstallerOptions installer;
  log::Level log_level = log::Level::Info;
  std::string help;  ///< Mode::Help: the text for stdout
};

/// A command line weft-cni refuses (exit status 2): what is wrong, in one line, and the
/// `--help` that documents the command it was meant for.
struct UsageError {
  std::string reason;
  std::string help;  ///< e.g. "weft-cni install --help"
};

/// Exit status for a refused command line.
inline constexpr int kUsageExitStatus = 2;

/// Parses argv[1..]. No arguments is Mode::Plugin, decided before any parsing. Flags take
/// `--flag VALUE` or `--flag=VALUE`, the last of a repeated flag wins; unknown commands or
/// flags, stray arguments, missing values and out-of-range numbers are UsageErrors.
std::expected<CommandLine, UsageError> parse_command_line(std::span<const std::string> args);

}  // namespace weft::cni
