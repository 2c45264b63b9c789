// The CNI_* environment of one plugin invocation (CNI spec 1.0, "Parameters").
#pragma once

#include <expected>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cni/CniArgs.hpp"
#include "cni/CniError.hpp"

namespace weft::cni {

/// CNI_COMMAND values. GC and STATUS exist in spec 1.1; weft-cni (1.0.0) refuses them.
enum class Command { Add, Del, Check, Version, Gc, Status };

/// Parses a CNI_COMMAND value (exact, upper case); nullopt for anything else.
std::optional<Command> parse_command(std::string_view text);
/// "ADD", "DEL", ... as CNI_COMMAND spells it.
std::string_view to_string(Command command);

/// Reads one environment variable; nullopt when unset. Injected so tests need no setenv().
using EnvLookup = std::function<std::optional<std::string>(const char* name)>;

/// The real process environment.
EnvLookup process_env();

/// The validated environment for ADD, DEL or CHECK.
struct CniEnv {
  Command command = Command::Add;
  std::string container_id;           ///< CNI_CONTAINERID
  std::string netns;                  ///< CNI_NETNS (may be empty for DEL)
  std::string ifname;                 ///< CNI_IFNAME
  CniArgs args;                       ///< CNI_ARGS
  std::vector<std::string> cni_path;  ///< CNI_PATH split on ':'
};

/// Reads and checks CNI_COMMAND: missing or unknown is InvalidEnvironment.
std::expected<Command, CniError> read_command(const EnvLookup& env);

/// Reads the rest of the environment for `command` (ADD, DEL or CHECK). CNI_CONTAINERID must
/// start with an alphanumeric and hold only [A-Za-z0-9_.-]; CNI_IFNAME must be a valid Linux
/// interface name; CNI_NETNS is required except for DEL (the netns may already be gone).
std::expected<CniEnv, CniError> read_cni_env(const EnvLookup& env, Command command);

}  // namespace weft::cni
