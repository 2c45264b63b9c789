#include "agent/config/Config.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <sstream>
#include <string_view>

#include "agent/redirect/MeshAbi.hpp"
#include "common/Log.hpp"

namespace weft::agent {
namespace {

using Setter = Result<void> (*)(Config&, std::string_view);
using Shower = std::string (*)(const Config&);

/// One configurable field: its YAML key (flags use the same name with dashes), help, setter and
/// how to print its current value (for --help defaults and the startup log).
struct Field {
  std::string_view key;
  std::string_view value_name;
  std::string_view help;
  Setter set;
  Shower show;
};

std::string join_ports(const std::vector<uint16_t>& ports) {
  return fmt::format("{}", fmt::join(ports, ","));
}

template <class T>
Result<T> parse_number(std::string_view text, std::string_view what, T min, T max) {
  T value{};
  int base = 10;
  if (text.starts_with("0x") || text.starts_with("0X")) {
    text.remove_prefix(2);
    base = 16;
  }
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (text.empty() || ec != std::errc{} || ptr != text.data() + text.size() || value < min ||
      value > max) {
    return fail(Error::Kind::Config,
                fmt::format("{}: expected a number in {}..{}, got \"{}\"", what, min, max, text));
  }
  return value;
}

std::vector<std::string_view> split_list(std::string_view text) {
  std::vector<std::string_view> items;
  while (!text.empty()) {
    auto comma = text.find(',');
    auto item = text.substr(0, comma);
    while (!item.empty() && item.front() == ' ') {
      item.remove_prefix(1);
    }
    while (!item.empty() && item.back() == ' ') {
      item.remove_suffix(1);
    }
    if (!item.empty()) {
      items.push_back(item);
    }
    if (comma == std::string_view::npos) {
      break;
    }
    text.remove_prefix(comma + 1);
  }
  return items;
}

template <class T>
Result<void> set_number(T& out, std::string_view text, std::string_view what, T min, T max) {
  auto n = parse_number<T>(text, what, min, max);
  if (!n) {
    return std::unexpected(n.error());
  }
  out = *n;
  return {};
}

/// A list of excluded ports: the BPF maps hold WEFT_MAX_EXCLUDED_PORTS per pod and direction.
Result<void> set_ports(std::vector<uint16_t>& out, std::string_view text, std::string_view what) {
  auto ports = parse_port_list(text, what);
  if (!ports) {
    return std::unexpected(ports.error());
  }
  if (ports->size() > WEFT_MAX_EXCLUDED_PORTS) {
    return fail(Error::Kind::Config, fmt::format("{}: {} ports, at most {} are supported", what,
                                                 ports->size(), WEFT_MAX_EXCLUDED_PORTS));
  }
  out = std::move(*ports);
  return {};
}

Result<void> set_string(std::string& out, std::string_view text, std::string_view what) {
  if (text.empty()) {
    return fail(Error::Kind::Config, fmt::format("{}: must not be empty", what));
  }
  out = std::string(text);
  return {};
}

// The field table. Each setter validates its value, so a typo fails at startup with the key named.
const Field kFields[] = {
    {"node_name", "NAME", "name of this node in logs and metrics (default: host name)",
     [](Config& c, std::string_view v) { return set_string(c.node_name, v, "node_name"); },
     [](const Config& c) -> std::string { return c.node_name; }},
    {"admin_address", "ADDR:PORT", "admin HTTP listener: /metrics /ready /live /pods /tap /observe",
     [](Config& c, std::string_view v) -> Result<void> {
       if (v.rfind(':') == std::string_view::npos) {
         return fail(Error::Kind::Config, "admin_address: expected ADDR:PORT");
       }
       return set_string(c.admin_address, v, "admin_address");
     },
     [](const Config& c) -> std::string { return c.admin_address; }},
    {"registration_socket", "PATH", "unix socket where weft-cni registers pods",
     [](Config& c, std::string_view v) {
       return set_string(c.registration_socket, v, "registration_socket");
     },
     [](const Config& c) -> std::string { return c.registration_socket; }},
    {"state_file", "PATH", "registered pods, kept so a restarted agent re-meshes them",
     [](Config& c, std::string_view v) { return set_string(c.state_file, v, "state_file"); },
     [](const Config& c) -> std::string { return c.state_file; }},
    {"bpffs_dir", "DIR", "bpffs directory for weft's pinned maps and links (mounted if needed)",
     [](Config& c, std::string_view v) { return set_string(c.bpffs_dir, v, "bpffs_dir"); },
     [](const Config& c) -> std::string { return c.bpffs_dir; }},
    {"bpffs_mount", "BOOL",
     "mount a bpffs for bpffs_dir when it is not on one; false in a container, where such a "
     "mount would not outlive it: a missing bpffs is then an error",
     [](Config& c, std::string_view v) -> Result<void> {
       if (v != "true" && v != "false") {
         return fail(Error::Kind::Config,
                     fmt::format("bpffs_mount: expected true or false, got \"{}\"", v));
       }
       c.bpffs_mount = v == "true";
       return {};
     },
     [](const Config& c) -> std::string { return c.bpffs_mount ? "true" : "false"; }},
    {"cgroup_root", "DIR",
     "cgroup v2 root for the connect/sockops hooks (default: from /proc/mounts)",
     [](Config& c, std::string_view v) { return set_string(c.cgroup_root, v, "cgroup_root"); },
     [](const Config& c) -> std::string { return c.cgroup_root; }},
    {"proc_dir", "DIR",
     "procfs the per-pod network sysctls are written through; in a container whose /proc/sys "
     "is read-only, a read-write mount of procfs such as the host's /proc",
     [](Config& c, std::string_view v) { return set_string(c.proc_dir, v, "proc_dir"); },
     [](const Config& c) -> std::string { return c.proc_dir; }},
    {"manifests_dir", "DIR", "directory of Kubernetes YAML/JSON objects, watched with inotify",
     [](Config& c, std::string_view v) { return set_string(c.manifests_dir, v, "manifests_dir"); },
     [](const Config& c) -> std::string { return c.manifests_dir; }},
    {"discovery", "SOURCE",
     "where Services, pods, MeshPolicies and routes come from: dir (manifests_dir) or kubernetes "
     "(the API server: --kubeconfig, else in-cluster)",
     [](Config& c, std::string_view v) -> Result<void> {
       if (v != "dir" && v != "kubernetes") {
         return fail(Error::Kind::Config,
                     fmt::format("discovery: expected dir or kubernetes, got \"{}\"", v));
       }
       c.discovery = std::string(v);
       return {};
     },
     [](const Config& c) -> std::string { return c.discovery; }},
    {"kubeconfig", "FILE",
     "kubeconfig of the API server for --discovery kubernetes (default: in-cluster, from "
     "KUBERNETES_SERVICE_HOST/_PORT and the service-account token)",
     [](Config& c, std::string_view v) { return set_string(c.kubeconfig, v, "kubeconfig"); },
     [](const Config& c) -> std::string { return c.kubeconfig; }},
    {"kube_watch_timeout_seconds", "S",
     "API watches last S to 2S seconds each, then resume where they ended",
     [](Config& c, std::string_view v) {
       return set_number(c.kube_watch_timeout_seconds, v, "kube_watch_timeout_seconds", 1u, 3600u);
     },
     [](const Config& c) -> std::string { return std::to_string(c.kube_watch_timeout_seconds); }},
    {"workers", "N", "data-plane threads, one io_uring each (default: one per CPU)",
     [](Config& c, std::string_view v) { return set_number(c.workers, v, "workers", 1u, 256u); },
     [](const Config& c) -> std::string {
       return c.workers == 0 ? std::string() : std::to_string(c.workers);
     }},
    {"trust_domain", "TD", "SPIFFE trust domain of workload principals",
     [](Config& c, std::string_view v) { return set_string(c.trust_domain, v, "trust_domain"); },
     [](const Config& c) -> std::string { return c.trust_domain; }},
    {"trust_anchor_file", "FILE",
     "PEM trust anchor(s) of the mesh: peers must chain to one (weftctl ca create)",
     [](Config& c, std::string_view v) {
       return set_string(c.trust_anchor_file, v, "trust_anchor_file");
     },
     [](const Config& c) -> std::string { return c.trust_anchor_file; }},
    {"issuer_cert_file", "FILE", "PEM certificate of the issuer that signs workload certificates",
     [](Config& c, std::string_view v) {
       return set_string(c.issuer_cert_file, v, "issuer_cert_file");
     },
     [](const Config& c) -> std::string { return c.issuer_cert_file; }},
    {"issuer_key_file", "FILE", "PEM private key of that issuer",
     [](Config& c, std::string_view v) {
       return set_string(c.issuer_key_file, v, "issuer_key_file");
     },
     [](const Config& c) -> std::string { return c.issuer_key_file; }},
    {"cert_lifetime_seconds", "S",
     "lifetime of workload certificates (10 s to 366 days); each is renewed at 40-60% of it",
     [](Config& c, std::string_view v) {
       return set_number(c.cert_lifetime_seconds, v, "cert_lifetime_seconds", 10u,
                         366 * 24 * 3600u);
     },
     [](const Config& c) -> std::string { return std::to_string(c.cert_lifetime_seconds); }},
    {"socket_mark", "N",
     "SO_MARK on the agent's own sockets (the BPF hooks never redirect them); bit 0x40000000 is "
     "reserved",
     [](Config& c, std::string_view v) -> Result<void> {
       auto n = parse_number<uint32_t>(v, "socket_mark", 1, UINT32_MAX);
       if (!n) {
         return std::unexpected(n.error());
       }
       if ((*n & WEFT_DELIVERY_MARK_BIT) != 0) {
         return fail(Error::Kind::Config,
                     fmt::format("socket_mark: bit {:#x} is reserved for inbound delivery",
                                 WEFT_DELIVERY_MARK_BIT));
       }
       c.socket_mark = *n;
       return {};
     },
     [](const Config& c) -> std::string { return fmt::format("{:#x}", c.socket_mark); }},
    {"exclude_outbound_ports", "P1,P2",
     "destination ports never redirected (at most 16, with a pod's weft.io/ annotation)",
     [](Config& c, std::string_view v) {
       return set_ports(c.exclude_outbound_ports, v, "exclude_outbound_ports");
     },
     [](const Config& c) -> std::string { return join_ports(c.exclude_outbound_ports); }},
    {"exclude_outbound_cidrs", "CIDR,...", "destination prefixes never redirected",
     [](Config& c, std::string_view v) -> Result<void> {
       c.exclude_outbound_cidrs.clear();
       for (auto item : split_list(v)) {
         auto cidr = Cidr::parse(item);
         if (!cidr) {
           return fail(Error::Kind::Config,
                       fmt::format("exclude_outbound_cidrs: bad CIDR \"{}\"", item));
         }
         c.exclude_outbound_cidrs.push_back(*cidr);
       }
       return {};
     },
     [](const Config& c) -> std::string {
       return [&] {
         std::string out;
         for (const auto& cidr : c.exclude_outbound_cidrs) {
           out += (out.empty() ? "" : ",") + cidr.str();
         }
         return out;
       }();
     }},
    {"exclude_inbound_ports", "P1,P2",
     "pod ports whose inbound traffic is not captured (at most 16, with a pod's annotation)",
     [](Config& c, std::string_view v) {
       return set_ports(c.exclude_inbound_ports, v, "exclude_inbound_ports");
     },
     [](const Config& c) -> std::string { return join_ports(c.exclude_inbound_ports); }},
    {"connect_timeout_ms", "MS", "upstream connect timeout",
     [](Config& c, std::string_view v) {
       return set_number(c.connect_timeout_ms, v, "connect_timeout_ms", 1u, 600000u);
     },
     [](const Config& c) -> std::string { return std::to_string(c.connect_timeout_ms); }},
    {"protocol_detection_timeout_ms", "MS",
     "how long a client to a Service, or an unmeshed client to a meshed pod, may stay silent "
     "before its connection is carried as TCP (server-speaks-first protocols); a Service "
     "port's appProtocol skips the wait",
     [](Config& c, std::string_view v) {
       return set_number(c.protocol_detection_timeout_ms, v, "protocol_detection_timeout_ms", 1u,
                         60000u);
     },
     [](const Config& c) -> std::string {
       return std::to_string(c.protocol_detection_timeout_ms);
     }},
    {"stall_timeout_seconds", "S",
     "a TCP connection whose bytes have not moved either way for this long while the agent "
     "holds some of them (a peer that stopped reading) is reset and counted in "
     "weft_tcp_connections_stalled_total; 0 never resets",
     [](Config& c, std::string_view v) {
       return set_number(c.stall_timeout_seconds, v, "stall_timeout_seconds", 0u, 86400u);
     },
     [](const Config& c) -> std::string { return std::to_string(c.stall_timeout_seconds); }},
    {"max_connections_per_source", "N",
     "connections one source (a meshed pod, an unmeshed client's address, another agent's "
     "address) may have open through the agent at once; more are reset and counted in "
     "weft_tcp_connections_refused_total{reason=\"source_limit\"} with the source's identity, "
     "so that one pod cannot spend the descriptors the others need. 0: an eighth of the "
     "agent's descriptor limit (each connection takes up to two)",
     [](Config& c, std::string_view v) {
       return set_number(c.max_connections_per_source, v, "max_connections_per_source", 0u,
                         10000000u);
     },
     [](const Config& c) -> std::string { return std::to_string(c.max_connections_per_source); }},
    {"max_header_bytes_per_source", "BYTES",
     "bytes of incomplete HTTP/1.1 request heads one source may have buffered in the agent at "
     "once (a crowd of slow clients fills them); a head past it is answered 431 and counted in "
     "weft_tcp_connections_refused_total{reason=\"source_head_bytes\"}",
     [](Config& c, std::string_view v) {
       return set_number(c.max_header_bytes_per_source, v, "max_header_bytes_per_source", 65536u,
                         1u << 30);
     },
     [](const Config& c) -> std::string { return std::to_string(c.max_header_bytes_per_source); }},
    {"request_header_timeout_ms", "MS",
     "a client of the agent's HTTP (an app, an unmeshed client, an HTTP/2 peer) must send a "
     "request's whole head within this long of its first byte (HTTP/1.1: 408 and close; the "
     "first request of a connection counts from its start) or, on HTTP/2, its first request "
     "within this long of the connection's start (GOAWAY); counted in "
     "weft_timeouts_total{timeout=\"request_header\"}",
     [](Config& c, std::string_view v) {
       return set_number(c.request_header_timeout_ms, v, "request_header_timeout_ms", 100u,
                         600000u);
     },
     [](const Config& c) -> std::string { return std::to_string(c.request_header_timeout_ms); }},
    {"http_idle_timeout_seconds", "S",
     "a client's HTTP connection without a request in progress is closed after this long "
     "(HTTP/2: GOAWAY); timeout=\"http_idle\"",
     [](Config& c, std::string_view v) {
       return set_number(c.http_idle_timeout_seconds, v, "http_idle_timeout_seconds", 1u, 86400u);
     },
     [](const Config& c) -> std::string { return std::to_string(c.http_idle_timeout_seconds); }},
    {"tcp_idle_timeout_seconds", "S",
     "a TCP connection carried as bytes (no HTTP seen) whose bytes have not moved either way "
     "for this long is closed (FIN both ways); a Service port named in the Service's "
     "weft.io/no-idle-timeout-ports annotation is exempt; timeout=\"tcp_idle\"; 0 never",
     [](Config& c, std::string_view v) {
       return set_number(c.tcp_idle_timeout_seconds, v, "tcp_idle_timeout_seconds", 0u, 604800u);
     },
     [](const Config& c) -> std::string { return std::to_string(c.tcp_idle_timeout_seconds); }},
    {"tls_handshake_timeout_ms", "MS",
     "a tunnel session's TLS handshake must be done within this long of its start; "
     "timeout=\"tls_handshake\" (and weft_tunnel_handshake_failures_total)",
     [](Config& c, std::string_view v) {
       return set_number(c.tls_handshake_timeout_ms, v, "tls_handshake_timeout_ms", 100u, 600000u);
     },
     [](const Config& c) -> std::string { return std::to_string(c.tls_handshake_timeout_ms); }},
    {"tunnel_idle_timeout_seconds", "S",
     "a tunnel session without streams is closed after this long; timeout=\"tunnel_idle\"",
     [](Config& c, std::string_view v) {
       return set_number(c.tunnel_idle_timeout_seconds, v, "tunnel_idle_timeout_seconds", 1u,
                         86400u);
     },
     [](const Config& c) -> std::string { return std::to_string(c.tunnel_idle_timeout_seconds); }},
    {"tunnel_ping_interval_ms", "MS",
     "a tunnel session from which nothing arrived for this long is sent an HTTP/2 PING (sooner "
     "when it is in doubt: quiet for 250 ms, or its bytes unacknowledged for 100 ms; a new stream "
     "then waits for the answer)",
     [](Config& c, std::string_view v) {
       return set_number(c.tunnel_ping_interval_ms, v, "tunnel_ping_interval_ms", 100u, 600000u);
     },
     [](const Config& c) -> std::string { return std::to_string(c.tunnel_ping_interval_ms); }},
    {"tunnel_ping_timeout_ms", "MS",
     "a tunnel session that sends nothing within this long of a PING is dead: it takes no new "
     "streams, its streams are reset (so clients fail fast and retries go elsewhere), and "
     "timeout=\"tunnel_ping\" counts it",
     [](Config& c, std::string_view v) {
       return set_number(c.tunnel_ping_timeout_ms, v, "tunnel_ping_timeout_ms", 100u, 600000u);
     },
     [](const Config& c) -> std::string { return std::to_string(c.tunnel_ping_timeout_ms); }},
    {"drain_seconds", "S",
     "after SIGTERM the agent stops accepting (a successor's listeners take new connections), "
     "sends GOAWAY on HTTP/2 and tunnel sessions and Connection: close on HTTP/1.1, and lets "
     "open connections finish for up to this long; then it closes what remains (FIN) and "
     "ends, at most 4 s later. Keep it at least 5 s below the pod's "
     "terminationGracePeriodSeconds",
     [](Config& c, std::string_view v) {
       return set_number(c.drain_seconds, v, "drain_seconds", 0u, 3600u);
     },
     [](const Config& c) -> std::string { return std::to_string(c.drain_seconds); }},
    {"random_seed", "N",
     "seed of the workers' random choices (endpoint picks, route weights, retry and probe "
     "jitter), for tests that need the same choices on every run; by default each worker seeds "
     "from getrandom(), so no two agents or restarts choose alike",
     [](Config& c, std::string_view v) -> Result<void> {
       auto n = parse_number<uint64_t>(v, "random_seed", 0, UINT64_MAX);
       if (!n) {
         return std::unexpected(n.error());
       }
       c.random_seed = *n;
       return {};
     },
     [](const Config& c) -> std::string {
       return c.random_seed ? std::to_string(*c.random_seed) : std::string();
     }},
    {"tap_max_sessions", "N",
     "tap sessions (GET /tap on the admin port, weftctl tap/top) open at once; 0 turns tap off",
     [](Config& c, std::string_view v) {
       return set_number(c.tap_max_sessions, v, "tap_max_sessions", 0u, 64u);
     },
     [](const Config& c) -> std::string { return std::to_string(c.tap_max_sessions); }},
    {"tap_max_events_per_second", "N",
     "tapped requests the agent streams per second over all sessions; more are dropped and "
     "counted in weft_tap_events_dropped_total{reason=\"agent_rate\"}",
     [](Config& c, std::string_view v) {
       return set_number(c.tap_max_events_per_second, v, "tap_max_events_per_second", 1u, 1000000u);
     },
     [](const Config& c) -> std::string { return std::to_string(c.tap_max_events_per_second); }},
    {"tap_session_events_per_second", "N",
     "a tap session's rate when it asks for none (max_rps); reason=\"session_rate\" beyond",
     [](Config& c, std::string_view v) {
       return set_number(c.tap_session_events_per_second, v, "tap_session_events_per_second", 1u,
                         1000000u);
     },
     [](const Config& c) -> std::string {
       return std::to_string(c.tap_session_events_per_second);
     }},
    {"tap_redact_headers", "NAME,...",
     "headers whose values tap never shows (lower case; default authorization, cookie, "
     "set-cookie, proxy-authorization)",
     [](Config& c, std::string_view v) -> Result<void> {
       c.tap_redact_headers.clear();
       for (auto item : split_list(v)) {
         std::string name(item);
         std::ranges::transform(name, name.begin(), [](unsigned char ch) {
           return static_cast<char>(std::tolower(ch));
         });
         c.tap_redact_headers.push_back(std::move(name));
       }
       return {};
     },
     [](const Config& c) -> std::string {
       std::string out;
       for (const auto& name : c.tap_redact_headers) {
         out += (out.empty() ? "" : ",") + name;
       }
       return out;
     }},
    {"tap_tls_address", "ADDR:PORT",
     "serve tap over mutual TLS here to the SPIFFE IDs of tap_allow (plaintext tap on "
     "admin_address is for loopback clients only); empty: not at all",
     [](Config& c, std::string_view v) -> Result<void> {
       if (!SockAddr::parse(v)) {
         return fail(Error::Kind::Config,
                     fmt::format("tap_tls_address: expected ADDR:PORT, got \"{}\"", v));
       }
       c.tap_tls_address = std::string(v);
       return {};
     },
     [](const Config& c) -> std::string { return c.tap_tls_address; }},
    {"tap_allow", "ID=NS;NS,...",
     "who may tap over mTLS: SPIFFE IDs, each with the namespaces whose pods' requests it may "
     "see (* for all), e.g. spiffe://cluster.local/ns/ops/sa/oncall=shop;cart",
     [](Config& c, std::string_view v) -> Result<void> {
       auto allow = parse_tap_allow(v);
       if (!allow) {
         return std::unexpected(allow.error());
       }
       c.tap_allow = std::move(*allow);
       return {};
     },
     [](const Config& c) -> std::string { return describe_tap_allow(c.tap_allow); }},
    {"tap_tls_principal", "SPIFFE_ID",
     "the SPIFFE ID whose certificate the agent presents on tap_tls_address (default "
     "spiffe://TRUST_DOMAIN/ns/weft-system/sa/weft-agent)",
     [](Config& c, std::string_view v) -> Result<void> {
       if (!v.starts_with("spiffe://")) {
         return fail(Error::Kind::Config,
                     fmt::format("tap_tls_principal: expected spiffe://..., got \"{}\"", v));
       }
       c.tap_tls_principal = std::string(v);
       return {};
     },
     [](const Config& c) -> std::string { return c.tap_tls_principal; }},
    {"observe_buffer_entries", "N",
     "finished requests and connections the agent keeps for GET /observe (weftctl observe), "
     "the oldest dropped first; 0 turns the flow history off",
     [](Config& c, std::string_view v) {
       return set_number(c.observe_buffer_entries, v, "observe_buffer_entries", 0u, 1u << 20);
     },
     [](const Config& c) -> std::string { return std::to_string(c.observe_buffer_entries); }},
    {"log_level", "LEVEL", "debug, info, warn or error",
     [](Config& c, std::string_view v) -> Result<void> {
       log::Level level{};
       if (!log::parse_level(v, level)) {
         return fail(Error::Kind::Config,
                     fmt::format("log_level: expected debug|info|warn|error, got \"{}\"", v));
       }
       c.log_level = std::string(v);
       return {};
     },
     [](const Config& c) -> std::string { return c.log_level; }},
};

const Field* find_field(std::string_view key) {
  for (const auto& f : kFields) {
    if (f.key == key) {
      return &f;
    }
  }
  return nullptr;
}

std::string flag_to_key(std::string_view flag) {
  std::string key(flag);
  for (char& ch : key) {
    if (ch == '-') {
      ch = '_';
    }
  }
  return key;
}

std::string key_to_flag(std::string_view key) {
  std::string flag(key);
  for (char& ch : flag) {
    if (ch == '_') {
      ch = '-';
    }
  }
  return flag;
}

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return fail(Error::Kind::Config, fmt::format("cannot read config file {}", path));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void fill_defaults(Config& c) {
  if (c.node_name.empty()) {
    char host[256] = {};
    if (::gethostname(host, sizeof(host) - 1) == 0) {
      c.node_name = host;
    }
  }
  if (c.workers == 0) {
    long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
    c.workers = cpus > 0 ? static_cast<unsigned>(cpus) : 1;
  }
}

}  // namespace

Result<std::vector<uint16_t>> parse_port_list(std::string_view text, std::string_view what) {
  std::vector<uint16_t> ports;
  for (auto item : split_list(text)) {
    auto port = parse_number<unsigned>(item, what, 1, 65535);
    if (!port) {
      return std::unexpected(port.error());
    }
    ports.push_back(static_cast<uint16_t>(*port));
  }
  return ports;
}

Result<void> apply_yaml(Config& config, const std::string& yaml_text, const std::string& origin) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    return fail(Error::Kind::Config, fmt::format("{}: {}", origin, e.what()));
  }
  if (root.IsNull()) {
    return {};
  }
  if (!root.IsMap()) {
    return fail(Error::Kind::Config, fmt::format("{}: expected a mapping of settings", origin));
  }
  for (const auto& entry : root) {
    std::string key = entry.first.Scalar();
    const Field* field = find_field(key);
    if (field == nullptr) {
      return fail(Error::Kind::Config, fmt::format("{}: unknown setting \"{}\"", origin, key));
    }
    std::string value;
    if (entry.second.IsSequence()) {
      for (const auto& item : entry.second) {
        if (!item.IsScalar()) {
          return fail(Error::Kind::Config, fmt::format("{}: {}: expected scalars", origin, key));
        }
        value += (value.empty() ? "" : ",") + item.Scalar();
      }
    } else if (entry.second.IsScalar()) {
      value = entry.second.Scalar();
    } else if (!entry.second.IsNull()) {
      return fail(Error::Kind::Config, fmt::format("{}: {}: expected a value", origin, key));
    }
    if (auto ok = field->set(config, value); !ok) {
      return fail(Error::Kind::Config, fmt::format("{}: {}", origin, ok.error().message));
    }
  }
  return {};
}

Result<Invocation> parse_command_line(int argc, const char* const* argv) {
  Invocation inv;
  std::vector<std::pair<std::string, std::string>> flags;
  std::string config_file;
  int i = 1;
  if (i < argc && std::string_view(argv[i]) == "uninstall") {
    inv.command = Invocation::Command::Uninstall;
    ++i;
  }
  for (; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      inv.command = Invocation::Command::Help;
      return inv;
    }
    if (arg == "--print-rbac") {
      inv.command = Invocation::Command::PrintRbac;
      return inv;
    }
    if (arg == "--check-config") {
      inv.command = Invocation::Command::CheckConfig;
      continue;
    }
    if (arg == "--version") {
      inv.command = Invocation::Command::Version;
      return inv;
    }
    if (!arg.starts_with("--")) {
      return fail(Error::Kind::Config, fmt::format("unexpected argument \"{}\" (see --help)", arg));
    }
    arg.remove_prefix(2);
    std::string name;
    std::string value;
    if (auto eq = arg.find('='); eq != std::string_view::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    } else {
      name = arg;
      if (i + 1 >= argc) {
        return fail(Error::Kind::Config, fmt::format("--{} needs a value", name));
      }
      value = argv[++i];
    }
    if (name == "config") {
      config_file = value;
      continue;
    }
    if (find_field(flag_to_key(name)) == nullptr) {
      return fail(Error::Kind::Config, fmt::format("unknown flag --{} (see --help)", name));
    }
    flags.emplace_back(flag_to_key(name), value);
  }
  if (!config_file.empty()) {
    auto text = read_file(config_file);
    if (!text) {
      return std::unexpected(text.error());
    }
    if (auto ok = apply_yaml(inv.config, *text, config_file); !ok) {
      return std::unexpected(ok.error());
    }
  }
  for (const auto& [key, value] : flags) {
    if (auto ok = find_field(key)->set(inv.config, value); !ok) {
      return fail(Error::Kind::Config,
                  fmt::format("--{}: {}", key_to_flag(key), ok.error().message));
    }
  }
  fill_defaults(inv.config);
  return inv;
}

std::string help_text() {
  Config defaults;
  std::string out =
      "weft-agent: the weft node agent. Meshes the pods weft-cni registers: eBPF redirects their\n"
      "TCP to this process, which proxies it on io_uring (mTLS under each workload's SPIFFE\n"
      "identity between nodes, MeshPolicy authorization) and exports Prometheus metrics.\n\n"
      "usage: weft-agent [--config FILE] [--FLAG VALUE]...\n"
      "       weft-agent uninstall --bpffs-dir DIR   detach weft's BPF programs, remove pins\n"
      "       weft-agent --print-rbac   the Kubernetes API permissions --discovery kubernetes\n"
      "                                 needs, as ClusterRole rules (JSON)\n"
      "       weft-agent --check-config [--config FILE] [--FLAG VALUE]...   parse the settings,\n"
      "                                 print them and stop (status 2 and the reason if "
      "refused)\n\n"
      "Every flag is also a key of the YAML --config file (dashes become underscores);\n"
      "flags override the file. Lists are comma-separated on the command line, YAML lists or\n"
      "comma-separated strings in the file.\n\n"
      "  --config FILE\n      YAML configuration file\n";
  for (const auto& f : kFields) {
    std::string def = f.show(defaults);
    out += fmt::format("  --{} {}\n      {}{}\n", key_to_flag(f.key), f.value_name, f.help,
                       def.empty() ? "" : fmt::format(" (default {})", def));
  }
  return out;
}

std::string describe(const Config& config) {
  std::string out;
  for (const auto& f : kFields) {
    out += fmt::format("{}{}=\"{}\"", out.empty() ? "" : " ", f.key, f.show(config));
  }
  return out;
}

}  // namespace weft::agent
