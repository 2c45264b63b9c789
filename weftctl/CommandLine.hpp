// weftctl's command line, parsed with CLI11: `weftctl ca create --dir DIR [OPTIONS]`,
// `weftctl stat RESOURCE (--direct --agents LIST | --prometheus URL) [OPTIONS]`, `weftctl edges`
// likewise, `weftctl check [OPTIONS]`, `weftctl observe [FILTERS] [--last N] [--since T] [-f]`,
// `--help` for the program and for each command, `--version`. Parsing has no side effects: the
// caller prints the help text or the usage error and picks the exit status.
#pragma once

#include <chrono>
#include <expected>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "weftctl/AgentDiscovery.hpp"
#include "weftctl/ObserveCommand.hpp"
#include "weftctl/StatFigures.hpp"
#include "weftctl/StatOutput.hpp"
#include "weftctl/TapCommand.hpp"

namespace weft::weftctl {

/// `weftctl ca create`: where to write a new mesh CA and how long its certificates live.
struct CaCreateOptions {
  std::string dir;
  std::string trust_domain = "cluster.local";
  long anchor_days = 3650;
  long issuer_days = 365;
  bool keep_root_key = false;
  bool force = false;
};

/// Where `stat` and `edges` read the agents' figures (a Prometheus server, or the agents
/// themselves), over which window, printed how.
struct MetricsSource {
  std::vector<std::string> agents;          ///< --direct: admin addresses, host:port
  std::optional<AgentLookup> agent_lookup;  ///< --direct: the agents are found from the API
  std::string prometheus;                   ///< else: the server's base URL
  bool show_query = false;                  ///< print the PromQL before the rows
  std::chrono::milliseconds window{std::chrono::seconds(10)};
  OutputFormat format = OutputFormat::Table;
};

/// `weftctl stat`: which rows, and from where.
struct StatOptions {
  StatSelection selection;  ///< RESOURCE[/NAME] and -n / -A
  MetricsSource source;
};

/// `weftctl edges`: the edges of which namespace's workloads (empty: all), and from where.
struct EdgesOptions {
  std::string ns;
  MetricsSource source;
};

/// `weftctl check`: this machine's CNI and CA files, the agents, and the Prometheus server to
/// check (none: no Prometheus checks).
struct CheckOptions {
  std::vector<std::string> agents{"127.0.0.1:15020"};  ///< admin addresses, host:port
  std::optional<AgentLookup> agent_lookup;             ///< set: the agents are found from the API
  std::string prometheus;                              ///< the server's base URL, or empty
  std::string cni_conf_dir = "/etc/cni/net.d";
  std::string cni_bin_dir = "/opt/cni/bin";
  std::string identity_dir = "/etc/weft/identity";  ///< trust-anchor.crt, issuer.crt
  bool skip_node = false;  ///< no kernel, mount and CNI checks (weftctl runs off the nodes)
  OutputFormat format = OutputFormat::Table;
};

/// What the command line asked for.
struct CommandLine {
  enum class Action {
    Print,     ///< --help or --version: write `text` to stdout, exit 0
    CaCreate,  ///< `ca create` with `ca_create`
    Stat,      ///< `stat` with `stat`
    Routes,    ///< `routes` with `stat` (selection.kind Route)
    Edges,     ///< `edges` with `edges`
    Check,     ///< `check` with `check`
    Tap,       ///< `tap` with `tap`
    Top,       ///< `top` with `tap`
    Observe,   ///< `observe` with `observe`
  };
  Action action = Action::Print;
  std::string text;
  CaCreateOptions ca_create;
  StatOptions stat;
  EdgesOptions edges;
  CheckOptions check;
  TapOptions tap;  ///< tap and top
  ObserveOptions observe;
};

/// A command line weftctl refuses (exit status 2): what is wrong, in one line, and the
/// `--help` that documents the command it was meant for.
struct UsageError {
  std::string reason;
  std::string help;  ///< e.g. "weftctl ca create --help"
};

/// Exit status for a refused command line (as getopt-based tools and CLI11 users agree on).
inline constexpr int kUsageExitStatus = 2;

/// Parses argv[1..]. Options take `--opt VALUE` or `--opt=VALUE`; the last of a repeated
/// option wins. Unknown commands or options, stray arguments, missing or malformed values
/// and a missing `--dir` are UsageErrors; `--help`/`-h` anywhere after a command prints that
/// command's help.
std::expected<CommandLine, UsageError> parse_command_line(std::span<const std::string> args);

/// The line main prints on stderr for `error`: "weftctl: REASON (see HELP)".
std::string usage_message(const UsageError& error);

}  // namespace weft::weftctl
