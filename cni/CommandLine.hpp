// weft-cni's command line: no arguments is the CNI plugin (the runtime's way of calling it);
// `install` / `uninstall` run the installer; `--help` documents both.
#pragma once

#include <span>
#include <string_view>

#include "cni/Installer.hpp"
#include "common/Error.hpp"
#include "common/Log.hpp"

namespace weft::cni {

/// What the process was asked to do.
struct CommandLine {
  enum class Mode { Plugin, Install, Uninstall, Help };
  Mode mode = Mode::Plugin;
  InstallerOptions installer;
  log::Level log_level = log::Level::Info;
};

/// Parses argv[1..]. Flags take `--flag VALUE` or `--flag=VALUE`; unknown flags, missing
/// values and out-of-range numbers are Config errors.
Result<CommandLine> parse_command_line(std::span<const std::string_view> args);

/// The --help text: plugin config fields, commands, error codes, installer flags.
std::string_view help_text();

}  // namespace weft::cni
