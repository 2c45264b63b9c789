// weft-agent's configuration: defaults, a YAML file, then flags; one table describes every field
// so the file keys, the flags and --help can never disagree.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/tap/TapAllowList.hpp"
#include "common/Error.hpp"
#include "common/IpAddr.hpp"

namespace weft::agent {

/// Everything weft-agent can be told. Field names match the YAML keys; flags use dashes.
struct Config {
  std::string node_name;  ///< defaults to the host name
  std::string admin_address = "0.0.0.0:15020";
  std::string registration_socket = "/run/weft/cni.sock";
  std::string state_file = "/var/lib/weft/pods.json";
  std::string bpffs_dir = "/sys/fs/bpf/weft";
  /// Mount a bpffs for bpffs_dir when it is not on one (false in a container: see Redirector).
  bool bpffs_mount = true;
  std::string cgroup_root;  ///< empty: the cgroup2 mount found in /proc/mounts
  /// procfs through which per-pod network sysctls are written (see install_delivery_route).
  std::string proc_dir = "/proc";
  std::string manifests_dir = "/etc/weft/manifests";
  /// Where Services, pods, policies and routes come from: "dir" (manifests_dir) or "kubernetes".
  std::string discovery = "dir";
  /// With discovery "kubernetes": a kubeconfig file; empty: in-cluster (the pod's service account).
  std::string kubeconfig;
  /// With discovery "kubernetes": watches last [T, 2T) seconds (client-go's 5 to 10 minutes).
  unsigned kube_watch_timeout_seconds = 300;
  unsigned workers = 0;  ///< 0: one per CPU
  std::string trust_domain = "cluster.local";
  std::string trust_anchor_file = "/etc/weft/identity/trust-anchor.crt";
  std::string issuer_cert_file = "/etc/weft/identity/issuer.crt";
  std::string issuer_key_file = "/etc/weft/identity/issuer.key";
  unsigned cert_lifetime_seconds = 24 * 3600;
  uint32_t socket_mark = 0x5746;
  std::vector<uint16_t> exclude_outbound_ports;
  std::vector<Cidr> exclude_outbound_cidrs;
  std::vector<uint16_t> exclude_inbound_ports;
  unsigned connect_timeout_ms = 5000;
  /// How long an outbound connection to a Service may stay silent before it is carried as TCP.
  unsigned protocol_detection_timeout_ms = 1000;
  /// A TCP connection whose bytes stopped moving both ways while the agent holds some is reset
  /// after this long (0: never).
  unsigned stall_timeout_seconds = 300;
  /// Connections one source (a meshed pod, an unmeshed client address, another agent's address)
  /// may have open through the agent at once; 0: an eighth of the agent's descriptor limit.
  unsigned max_connections_per_source = 0;
  /// Bytes of incomplete HTTP/1.1 request heads one source may have buffered in the agent.
  unsigned max_header_bytes_per_source = 4 * 1024 * 1024;
  /// The time limits of proxy::TimeLimits (see help_text()).
  unsigned request_header_timeout_ms = 10000;
  unsigned http_idle_timeout_seconds = 120;
  unsigned tcp_idle_timeout_seconds = 3600;
  unsigned tls_handshake_timeout_ms = 10000;
  unsigned tunnel_idle_timeout_seconds = 30;
  unsigned tunnel_ping_interval_ms = 5000;
  unsigned tunnel_ping_timeout_ms = 2000;
  /// After SIGTERM: how long open connections may go on before what remains is closed (FIN).
  unsigned drain_seconds = 25;
  /// Seed of every worker's random choices; empty: each worker seeds from getrandom().
  std::optional<uint64_t> random_seed;
  /// Tap (agent::TapLimits): sessions at once (0: off), events a second over all of them, a
  /// session's default rate, and the headers whose values events never show.
  unsigned tap_max_sessions = 8;
  unsigned tap_max_events_per_second = 1000;
  unsigned tap_session_events_per_second = 100;
  std::vector<std::string> tap_redact_headers = {"authorization", "cookie", "set-cookie",
                                                 "proxy-authorization"};
  /// Tap over mTLS for clients off the node (empty: none), the SPIFFE IDs allowed and their
  /// namespaces, and the SPIFFE ID the agent presents there (empty: the trust domain's
  /// weft-system/weft-agent).
  std::string tap_tls_address;
  TapAllowList tap_allow;
  std::string tap_tls_principal;
  /// The flow history (agent::FlowLog): finished requests and connections kept for GET
  /// /observe; 0: off.
  unsigned observe_buffer_entries = 4096;
  std::string log_level = "info";
};

/// What the command line asked for.
struct Invocation {
  enum class Command { Run, Uninstall, Help, Version, PrintRbac, CheckConfig };
  Command command = Command::Run;
  Config config;
};

/// Parses argv: `[uninstall] [--config FILE] [--field value | --field=value]...`.
/// Flags override the file, which overrides the defaults. Errors name the flag or key.
Result<Invocation> parse_command_line(int argc, const char* const* argv);

/// Parses "80, 8080" into ports 1-65535; errors start with `what` (a key or annotation).
Result<std::vector<uint16_t>> parse_port_list(std::string_view text, std::string_view what);

/// Applies a YAML document (the --config file's contents) on top of `config`.
Result<void> apply_yaml(Config& config, const std::string& yaml_text, const std::string& origin);

/// The --help text, generated from the same table as the parser.
std::string help_text();

/// Every field as key="value", for the startup log line.
std::string describe(const Config& config);

}  // namespace weft::agent
