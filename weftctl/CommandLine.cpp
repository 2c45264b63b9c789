#include "weftctl/CommandLine.hpp"

#include <fmt/format.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <optional>
#include <string_view>
#include <tuple>
#include <utility>

#include "common/CommandTree.hpp"

namespace weft::weftctl {
namespace {

constexpr const char* kProgram = "weftctl: the operator's command line for a weft mesh.";

constexpr const char* kProgramFooter =
    "Each command documents itself: weftctl COMMAND --help (e.g. weftctl ca create --help).";

constexpr const char* kCa = "the mesh CA: the trust anchor and the issuer agents sign with";

constexpr const char* kCaCreate =
    "Create a new mesh CA: an ECDSA P-256 trust anchor (self-signed)\n"
    "and an issuer certificate signed by it.";

constexpr const char* kCaCreateFooter =
    R"(Writes DIR/trust-anchor.crt, DIR/issuer.crt and DIR/issuer.key (0600). Point every agent at
them (--trust-anchor-file, --issuer-cert-file, --issuer-key-file; the defaults are
/etc/weft/identity/...). The issuer signs each workload's certificate inside the agent.
Existing files in DIR are kept (exit status 1) unless --force is given.)";

/// A number of days, 1..36500, read as strtol reads base 10 (CLI11 alone would read "010" as
/// octal), and rewritten in canonical form before CLI11 converts it.
CLI::Validator days() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        char* end = nullptr;
        errno = 0;
        long v = std::strtol(value.c_str(), &end, 10);
        if (errno != 0 || end == value.c_str() || *end != '\0' || v < 1 || v > 36500) {
          return fmt::format("wants a number of days from 1 to 36500, not \"{}\"", value);
        }
        value = std::to_string(v);
        return {};
      },
      "");
}

/// A SPIFFE trust domain as weft writes it into certificates: lowercase, no scheme or path.
CLI::Validator trust_domain() {
  return CLI::Validator(
      [](const std::string& value) -> std::string {
        if (value.empty() || value.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789.-_") !=
                                 std::string::npos) {
          return fmt::format("must be lowercase letters, digits, '.', '-' or '_', not \"{}\"",
                             value);
        }
        return {};
      },
      "");
}

constexpr const char* kStat =
    "golden signals of namespaces, workloads or Services: success, rate, latency, TCP";

constexpr const char* kStatFooter =
    R"(Success rate, requests per second, latency percentiles and open TCP connections over a
window. RESOURCE is ns, deploy (or workload) or svc, with /NAME for one: deploy/web, svc/web.
Workloads and namespaces are counted by the servers' agents (so unmeshed clients count too),
Services by the clients' agents. Success: response_code not 5xx and grpc_response_status empty
or 0. With --prometheus the server that scrapes the agents is asked for the last WINDOW
(default 1m; --show-query prints the PromQL). With --direct the agents' own /metrics are read
twice, WINDOW (default 10s) apart: no Prometheus needed, the figures are those of that window.
--from deploy/NAME (or ns/NAME) keeps only the traffic from it; --to deploy/NAME (or ns/NAME) only
the traffic to it, and the rows are then its clients (not for svc). Their namespace is -n's
unless --from-namespace / --to-namespace says otherwise.)";

constexpr const char* kRoutes = "golden signals of a Service's route rules, retries apart";

constexpr const char* kRoutesFooter =
    R"(One row per rule of the HTTPRoutes and GRPCRoutes of svc/NAME (its `route` label, the route's
name and the rule's: web/all, or rule-N for a rule without a name) and [DEFAULT] for requests no
rule matched, as the clients' agents counted them over the window: success, requests per second
and latency percentiles. wide shows EFFECTIVE (what the clients saw, once per request) beside
ACTUAL (every attempt: the retries the rules sent count as failed attempts). --prometheus and
--direct as for stat.)";

constexpr const char* kEdges = "which workloads talk to which, and whether over mTLS";

constexpr const char* kEdgesFooter =
    R"(Each edge is a pair of workloads with traffic in the window (HTTP requests, gRPC calls or TCP
connections), as the client's agent saw it, with either end in the namespace (-n; -A: all). A
destination outside the mesh shows as its Service. SECURED is √ when all of it went over
mutual TLS; wide adds the SPIFFE IDs each side proved. --prometheus and --direct as for stat.)";

constexpr const char* kCheck =
    "whether this node, the mesh CA, the agents and Prometheus are healthy";

constexpr const char* kCheckFooter =
    R"(Checks, in groups: this machine as a node (Linux 6.1+, BTF, cgroup v2, bpffs, io_uring; skip
them with --skip-node), its CNI config (weft-cni chained after the primary plugin in the file
the runtime uses, its binary and the agent's socket present), the mesh CA's files (anchor and
issuer valid for 30 days or more, else a warning; expired or not chained: an error), each agent
(its /metrics read, /ready, the same version as weftctl and the other agents, its clock within
10 s of this machine's (60 s: an error, certificates start 60 s before they are signed), its
workload certificates not expired, no failed renewal) and, with --prometheus, the server (ready,
every agent's target up). Each check prints a line: √ ok, ‼ warning, × error, the last two with
the reason and a hint below (-o wide: what each ok check found too). Exit status 1 when a check
failed (×), else 0 (warnings too).)";

constexpr const char* kTap = "watch the requests the agents finish, live";

constexpr const char* kTapFooter =
    R"(Each request an agent finishes (its response is over) while the command runs, as Linkerd
prints them: req, rsp and end lines (wide adds each end's workload and namespace; json the
agent's event). RESOURCE picks the requests either end of which is: ns/NAME, deploy/NAME (or
workload/NAME; deploy alone: any of the namespace) or po/NAME; --to narrows to requests to
deploy/NAME or ns/NAME. The filters run in the agents, on the finished request, so --status can
pick failures (503, 5xx, 4+). Header values of authorization, cookie, set-cookie and
proxy-authorization (the agent's tap_redact_headers) are never shown; bodies never are. Each agent
sends at most --max-rps events a second (default its own, 100), and drops and counts the rest
(weft_tap_events_dropped_total). An agent serves tap in plaintext to a client on its own machine
only (--agents defaults to 127.0.0.1:15020, the node's agent); with --cert, --key and --cacert
weftctl speaks mTLS to the agents' tap_tls_address instead, as a SPIFFE ID of their tap_allow,
and sees the requests of the namespaces listed there for it. Runs until interrupted, or for
--duration.)";

constexpr const char* kTop = "a live table of the requests the agents finish";

constexpr const char* kTopFooter =
    R"(The tapped requests (as weftctl tap RESOURCE with the same filters selects them) grouped by
source, destination, method and path: COUNT, BEST, WORST and LAST latency and SUCCESS, most
requests first. On a terminal the table updates in place every second until q or Ctrl-C;
otherwise (or with -o json) it is printed once when --duration is over. A request between two
tapped agents' pods is counted by both.)";

constexpr const char* kObserve = "recent requests and connections from the agents' flow history";

constexpr const char* kObserveFooter =
    R"(Each agent keeps its last finished requests and TCP connections (observe_buffer_entries,
default 4096; the oldest go first). observe reads them from every agent of --agents (GET
/observe on its admin port, served to loopback clients in plaintext) and prints them merged by
time: TIMESTAMP SOURCE DESTINATION TYPE (request, connection) VERDICT (allowed: carried,
whatever the app answered; denied: refused by a MeshPolicy; failed: no endpoint took it)
SUMMARY. Without --last, --since or -f: the last 20. --last N: the N newest over all agents.
--since: a duration ago (30s, 5m, 1h) or an RFC 3339 time. -f: then the new ones as they come,
every second, until interrupted (or --follow-for). Filters match either end (namespace,
workload, ip, port); -o json prints the agents' records, one JSON object a line.)";

/// The rows' kind a RESOURCE's part before '/' names, as kubectl spells resources.
std::optional<StatKind> resource_kind(std::string_view word) {
  static constexpr std::pair<std::string_view, StatKind> kKinds[] = {
      {"ns", StatKind::Namespace},         {"namespace", StatKind::Namespace},
      {"namespaces", StatKind::Namespace}, {"deploy", StatKind::Workload},
      {"deployment", StatKind::Workload},  {"deployments", StatKind::Workload},
      {"workload", StatKind::Workload},    {"workloads", StatKind::Workload},
      {"svc", StatKind::Service},          {"service", StatKind::Service},
      {"services", StatKind::Service}};
  for (const auto& [name, kind] : kKinds) {
    if (word == name) {
      return kind;
    }
  }
  return std::nullopt;
}

/// "ns", "deploy/web", "svc/web": the rows' kind and, after '/', one name.
CLI::Validator resource() {
  return CLI::Validator(
      [](const std::string& value) -> std::string {
        std::string kind = value.substr(0, value.find('/'));
        if (!resource_kind(kind)) {
          return fmt::format("wants ns, deploy, workload or svc (with /NAME for one), not \"{}\"",
                             value);
        }
        return value.find('/') == std::string::npos || value.size() > kind.size() + 1
                   ? ""
                   : fmt::format("names no {} after '/'", kind);
      },
      "");
}

/// "500ms", "10s", "1m", "1h": 1 s to 1 h, rewritten in milliseconds.
CLI::Validator window() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        char* end = nullptr;
        errno = 0;
        long v = std::strtol(value.c_str(), &end, 10);
        std::string_view unit(end);
        bool number = errno == 0 && end != value.c_str() && v >= 1 && v <= 3600000;
        long ms = !number        ? -1
                  : unit == "ms" ? v
                  : unit == "s"  ? v * 1000
                  : unit == "m"  ? v * 60000
                  : unit == "h"  ? v * 3600000
                                 : -1;
        if (ms < 1000 || ms > 3600000) {
          return fmt::format("wants a window from 1s to 1h such as 10s or 1m, not \"{}\"", value);
        }
        value = std::to_string(ms);
        return {};
      },
      "");
}

CLI::Validator non_empty(const char* what) {
  return CLI::Validator(
      [what](const std::string& value) -> std::string {
        return value.empty() ? fmt::format("wants {}, not an empty string", what) : "";
      },
      "");
}

CLI::App* add_ca_create(CLI::App& ca, CaCreateOptions& out) {
  CLI::App& create = *ca.add_subcommand("create", kCaCreate);
  create.footer(kCaCreateFooter);
  create.add_option("--dir", out.dir, "directory for the CA's files (created if missing)")
      ->type_name("DIR")
      ->required()
      ->check(non_empty("a directory"));
  create
      .add_option("--trust-domain", out.trust_domain,
                  "SPIFFE trust domain named in the certificates\n"
                  "(lowercase letters, digits, '.', '-', '_')")
      ->type_name("TD")
      ->capture_default_str()
      ->check(trust_domain());
  create.add_option("--anchor-days", out.anchor_days, "trust anchor lifetime in days, 1..36500")
      ->type_name("N")
      ->capture_default_str()
      ->transform(days());
  create.add_option("--issuer-days", out.issuer_days, "issuer lifetime in days, 1..36500")
      ->type_name("N")
      ->capture_default_str()
      ->transform(days());
  create
      .add_flag("--keep-root-key", out.keep_root_key,
                "also write DIR/trust-anchor.key (0600), needed to make a new\n"
                "issuer later; without it the anchor key never leaves memory")
      ->disable_flag_override();
  create.add_flag("--force", out.force, "replace existing files in DIR")->disable_flag_override();
  return &create;
}

/// Where the agents are: --agents, or the API server (--kubeconfig, --in-cluster) with the
/// agents' namespace and port; finished into an AgentLookup by finish_agents().
struct AgentArgs {
  std::string kubeconfig;
  bool in_cluster = false;
  std::string ns = "weft-system";
  uint16_t port = 15020;
};

/// What `stat` and `edges` read as text before parse_command_line() checks the whole line:
/// RESOURCE, -n, -A, the window, the format, --direct.
struct SourceArgs {
  std::string resource;
  std::string ns = "default";
  bool all_namespaces = false;
  long window_ms = 0;  ///< 0: the source's default
  std::string output = "table";
  bool direct = false;
  std::string from, from_ns, to, to_ns;  ///< stat's --from, --to and their namespaces
  AgentArgs agents;
};

/// --agents (into `agents`; `help` says what they serve) and the options that find them from the
/// API server instead.
void add_agent_options(CLI::App& cmd, std::vector<std::string>& agents, AgentArgs& args,
                       const char* help, bool has_default) {
  CLI::Option* list = cmd.add_option("--agents", agents, help)
                          ->type_name("LIST")
                          ->delimiter(',')
                          ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
                          ->check(non_empty("host:port"));
  if (has_default) {
    list->capture_default_str();
  }
  CLI::Option* kubeconfig =
      cmd.add_option("--kubeconfig", args.kubeconfig,
                     "instead of --agents: the agents are the Running pods labelled\n"
                     "app.kubernetes.io/name=weft-agent the API server lists")
          ->type_name("FILE")
          ->check(CLI::ExistingFile)
          ->excludes(list);
  cmd.add_flag("--in-cluster", args.in_cluster,
               "likewise, with the API server and token of the pod weftctl runs in")
      ->disable_flag_override()
      ->excludes(list)
      ->excludes(kubeconfig);
  cmd.add_option("--agent-namespace", args.ns, "the agents' namespace (with --kubeconfig)")
      ->type_name("NS")
      ->capture_default_str()
      ->check(non_empty("a namespace"));
  cmd.add_option("--agent-port", args.port, "the port of the agents' pods to use")
      ->type_name("PORT")
      ->capture_default_str()
      ->check(CLI::Range(1, 65535));
}

/// The lookup --kubeconfig or --in-cluster asked for, if either did.
std::optional<AgentLookup> finish_agents(const AgentArgs& args) {
  if (args.kubeconfig.empty() && !args.in_cluster) {
    return std::nullopt;
  }
  return AgentLookup{args.kubeconfig, args.ns, args.port};
}

/// -o with `formats` (the first the default).
void add_output_option(CLI::App& cmd, std::string& output,
                       const std::vector<std::string>& formats) {
  std::string help;
  for (std::size_t i = 0; i < formats.size(); ++i) {
    help += (i == 0 ? "" : i + 1 == formats.size() ? " or " : ", ") + formats[i];
  }
  cmd.add_option("-o,--output", output, help)
      ->type_name("FORMAT")
      ->capture_default_str()
      ->check(CLI::IsMember(formats));
}

/// RESOURCE (checked by `check`), -n, -A and the metrics source's options of `cmd`.
void add_source_options(CLI::App& cmd, const char* resource_help, CLI::Validator check,
                        MetricsSource& out, SourceArgs& args) {
  cmd.add_option("RESOURCE", args.resource, resource_help)->type_name("")->required()->check(check);
  cmd.add_option("-n,--namespace", args.ns, "namespace of the rows")
      ->type_name("NS")
      ->capture_default_str()
      ->check(non_empty("a namespace"));
  cmd.add_flag("-A,--all-namespaces", args.all_namespaces, "rows of every namespace")
      ->disable_flag_override();
  cmd.add_option("-t,--time-window", args.window_ms,
                 "the window, 1s to 1h (e.g. 10s, 1m); default 1m, 10s with --direct")
      ->type_name("WINDOW")
      ->transform(window());
  add_output_option(cmd, args.output, {"table", "wide", "json"});
  cmd.add_option("--prometheus", out.prometheus,
                 "the Prometheus server that scrapes the agents (e.g.\n"
                 "http://prometheus.monitoring:9090)")
      ->type_name("URL")
      ->check(non_empty("a URL"));
  cmd.add_flag("--show-query", out.show_query, "print the PromQL queries (with --prometheus)")
      ->disable_flag_override();
  cmd.add_flag("--direct", args.direct,
               "read the agents' own /metrics (twice, WINDOW apart) instead of a\n"
               "Prometheus server")
      ->disable_flag_override();
  add_agent_options(cmd, out.agents, args.agents,
                    "with --direct: the agents' admin addresses, host:port,\n"
                    "comma-separated (e.g. 10.0.0.1:15020,10.0.0.2:15020)",
                    /*has_default=*/false);
}

/// out's window and format from what CLI11 read; a refusal for what only the whole command
/// line can tell.
std::expected<void, std::string> finish_source(const SourceArgs& args, MetricsSource& out) {
  if (args.direct == !out.prometheus.empty()) {
    return std::unexpected("give one of --prometheus URL and --direct (with --agents)");
  }
  out.agent_lookup = finish_agents(args.agents);
  bool located = !out.agents.empty() || out.agent_lookup;
  if (args.direct && !located) {
    return std::unexpected(
        "--direct needs --agents (the agents' admin addresses) or --kubeconfig/--in-cluster");
  }
  if (!args.direct && located) {
    return std::unexpected("--agents, --kubeconfig and --in-cluster go with --direct");
  }
  if (args.direct && out.show_query) {
    return std::unexpected("--show-query goes with --prometheus (--direct runs no query)");
  }
  if (!args.direct && args.window_ms % 1000 != 0) {
    return std::unexpected("--prometheus takes a window of whole seconds");
  }
  out.window = std::chrono::milliseconds(args.window_ms != 0 ? args.window_ms
                                         : args.direct       ? 10000
                                                             : 60000);
  out.format = args.output == "json"   ? OutputFormat::Json
               : args.output == "wide" ? OutputFormat::Wide
                                       : OutputFormat::Table;
  return {};
}

/// "deploy/web" or "ns/shop" (--from, --to; checked by tap_destination) as a StatPeer; `ns` is
/// the workload's namespace.
StatPeer peer(const std::string& resource, const std::string& ns) {
  auto slash = resource.find('/');
  std::string name = resource.substr(slash + 1);
  return resource_kind(resource.substr(0, slash)) == StatKind::Namespace ? StatPeer{name, ""}
                                                                         : StatPeer{ns, name};
}

std::expected<void, std::string> finish_stat(const SourceArgs& args, StatOptions& out) {
  StatSelection& sel = out.selection;
  sel.kind = resource_kind(args.resource.substr(0, args.resource.find('/'))).value();
  if (auto slash = args.resource.find('/'); slash != std::string::npos) {
    sel.name = args.resource.substr(slash + 1);
  }
  sel.ns = args.all_namespaces || sel.kind == StatKind::Namespace ? "" : args.ns;
  if ((!args.from_ns.empty() && args.from.empty()) || (!args.to_ns.empty() && args.to.empty())) {
    return std::unexpected("--from-namespace and --to-namespace go with --from and --to");
  }
  if (!args.to.empty() && sel.kind == StatKind::Service) {
    return std::unexpected("--to: a Service's rows are its clients' already (use --from)");
  }
  if (!args.from.empty()) {
    sel.from = peer(args.from, args.from_ns.empty() ? args.ns : args.from_ns);
  }
  if (!args.to.empty()) {
    sel.to = peer(args.to, args.to_ns.empty() ? args.ns : args.to_ns);
  }
  return {};
}

/// routes' RESOURCE: one Service.
CLI::Validator one_service() {
  return CLI::Validator(
      [](const std::string& value) -> std::string {
        auto slash = value.find('/');
        bool ok = slash != std::string::npos && slash + 1 < value.size() &&
                  resource_kind(value.substr(0, slash)) == StatKind::Service;
        return ok ? "" : fmt::format("wants svc/NAME, not \"{}\"", value);
      },
      "");
}

/// edges' RESOURCE: workloads only (an edge joins two).
CLI::Validator workloads() {
  return CLI::Validator(
      [](const std::string& value) -> std::string {
        return resource_kind(value) == StatKind::Workload
                   ? ""
                   : fmt::format("wants deploy or workload, not \"{}\"", value);
      },
      "");
}

/// tap's RESOURCE: ns/NAME, deploy or workload with an optional /NAME, po/NAME.
CLI::Validator tap_resource() {
  return CLI::Validator(
      [](const std::string& value) -> std::string {
        auto slash = value.find('/');
        std::string kind = value.substr(0, slash);
        std::string name = slash == std::string::npos ? "" : value.substr(slash + 1);
        auto k = resource_kind(kind);
        bool pod = kind == "po" || kind == "pod" || kind == "pods";
        if (!pod && (!k || k == StatKind::Service)) {
          return fmt::format("wants ns/NAME, deploy[/NAME], workload[/NAME] or po/NAME, not \"{}\"",
                             value);
        }
        if (name.empty() && (pod || k == StatKind::Namespace)) {
          return fmt::format("names no {} after '/'", kind);
        }
        return {};
      },
      "");
}

/// --from and --to (stat, tap, top): deploy/NAME or ns/NAME.
CLI::Validator workload_or_namespace() {
  return CLI::Validator(
      [](const std::string& value) -> std::string {
        auto slash = value.find('/');
        auto k = resource_kind(value.substr(0, slash));
        if (slash == std::string::npos || slash + 1 == value.size() || !k ||
            k == StatKind::Service) {
          return fmt::format("wants deploy/NAME or ns/NAME, not \"{}\"", value);
        }
        return {};
      },
      "");
}

/// What `tap` and `top` read as text before parse_command_line() finishes them.
struct TapArgs {
  long duration_ms = 0;
  std::string output = "table";
  AgentArgs agents;
};

void add_tap_options(CLI::App& cmd, TapOptions& out, TapArgs& args) {
  cmd.add_option("RESOURCE", out.resource, "ns/NAME, deploy[/NAME], workload[/NAME] or po/NAME")
      ->type_name("")
      ->required()
      ->check(tap_resource());
  cmd.add_option("-n,--namespace", out.ns, "namespace of RESOURCE")
      ->type_name("NS")
      ->capture_default_str()
      ->check(non_empty("a namespace"));
  cmd.add_flag("-A,--all-namespaces", out.all_namespaces, "deploy (no name) of every namespace")
      ->disable_flag_override();
  cmd.add_option("--to", out.to_resource, "only requests to deploy/NAME or ns/NAME")
      ->type_name("RESOURCE")
      ->check(workload_or_namespace());
  cmd.add_option("--to-namespace", out.to_ns, "namespace of --to's deploy (default: -n's)")
      ->type_name("NS")
      ->check(non_empty("a namespace"));
  cmd.add_option("--method", out.method, "only this method (GET, POST, ...)")
      ->type_name("METHOD")
      ->check(non_empty("a method"));
  cmd.add_option("--authority", out.authority, "only this :authority (Host)")
      ->type_name("AUTHORITY")
      ->check(non_empty("an authority"));
  cmd.add_option("--path", out.path, "only paths that start with PREFIX")
      ->type_name("PREFIX")
      ->check(CLI::Validator(
          [](const std::string& v) -> std::string {
            return v.starts_with('/') ? "" : fmt::format("wants a path from '/', not \"{}\"", v);
          },
          ""));
  cmd.add_option("--status", out.status, "only these response statuses: 503, 5xx or 4+")
      ->type_name("STATUS")
      ->check(CLI::Validator(
          [](const std::string& v) -> std::string {
            bool code = v.size() == 3 && std::isdigit(static_cast<unsigned char>(v[0])) &&
                        v.find_first_not_of("0123456789") == std::string::npos;
            bool klass = v.size() == 3 && v[0] >= '1' && v[0] <= '5' && v.substr(1) == "xx";
            bool floor = v.size() >= 2 && v.back() == '+' &&
                         v.find_first_not_of("0123456789") == v.size() - 1;
            return code || klass || floor
                       ? ""
                       : fmt::format(
                             "wants a code (503), a class (5xx) or a floor (4+), not "
                             "\"{}\"",
                             v);
          },
          ""));
  cmd.add_option("--direction", out.direction,
                 "outbound (reported by the client's agent) or inbound (the server's)")
      ->type_name("DIR")
      ->check(CLI::IsMember({"outbound", "inbound"}));
  cmd.add_option("--max-rps", out.max_rps, "events a second each agent sends at most")
      ->type_name("N")
      ->check(CLI::Range(1u, 100000u));
  add_agent_options(cmd, out.agents, args.agents,
                    "the agents' admin addresses, host:port, comma-separated;\n"
                    "plaintext tap is served on loopback only",
                    /*has_default=*/true);
  for (auto [flag, field, help] :
       {std::tuple{"--cert", &out.cert,
                   "a client certificate (PEM) with a SPIFFE ID of the\n"
                   "agents' tap_allow: tap over mTLS"},
        std::tuple{"--key", &out.key, "its private key (PEM)"},
        std::tuple{"--cacert", &out.cacert, "the mesh's trust anchor (PEM)"}}) {
    cmd.add_option(flag, *field, help)->type_name("FILE")->check(CLI::ExistingFile);
  }
  cmd.add_option("--duration", args.duration_ms, "stop after this long, 1s to 1h (e.g. 30s)")
      ->type_name("WINDOW")
      ->transform(window());
  add_output_option(cmd, args.output, {"table", "wide", "json"});
}

/// `check`'s options into `out`; -o into `output`.
void add_check(CLI::App& cmd, CheckOptions& out, std::string& output, AgentArgs& agents) {
  add_agent_options(cmd, out.agents, agents,
                    "the agents' admin addresses, host:port, comma-separated\n"
                    "(e.g. 10.0.0.1:15020,10.0.0.2:15020)",
                    /*has_default=*/true);
  cmd.add_option("--prometheus", out.prometheus,
                 "also check the Prometheus server that scrapes the agents\n"
                 "(e.g. http://prometheus.monitoring:9090)")
      ->type_name("URL")
      ->check(non_empty("a URL"));
  cmd.add_option("--cni-conf-dir", out.cni_conf_dir, "the node's CNI network configs")
      ->type_name("DIR")
      ->capture_default_str()
      ->check(non_empty("a directory"));
  cmd.add_option("--cni-bin-dir", out.cni_bin_dir, "the node's CNI plugin binaries")
      ->type_name("DIR")
      ->capture_default_str()
      ->check(non_empty("a directory"));
  cmd.add_option("--identity-dir", out.identity_dir,
                 "the mesh CA's trust-anchor.crt and issuer.crt (as\n"
                 "weftctl ca create --dir wrote them)")
      ->type_name("DIR")
      ->capture_default_str()
      ->check(non_empty("a directory"));
  cmd.add_flag("--skip-node", out.skip_node,
               "skip the checks of this machine as a node (kernel, mounts,\n"
               "CNI): for a weftctl run off the nodes")
      ->disable_flag_override();
  add_output_option(cmd, output, {"table", "wide", "json"});
}

/// What `observe` reads as text before parse_command_line() checks the whole line.
struct ObserveArgs {
  AgentArgs agents;
  std::string output = "table";
  long last = 0;  ///< 0: not given
  long follow_for_ms = 0;
  std::string ns;
  std::string workload;
  std::string ip;
  std::string port;
  std::string http_status;
  std::string verdict;
  std::string type;
  std::string trace_id;
};

/// A duration for --follow-for: "500ms", "10s", "1m", up to an hour, in milliseconds.
CLI::Validator follow_duration() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        char* end = nullptr;
        errno = 0;
        long v = std::strtol(value.c_str(), &end, 10);
        std::string_view unit(end);
        long ms = errno != 0 || end == value.c_str() || v < 1 || v > 3600000 ? -1
                  : unit == "ms"                                             ? v
                  : unit == "s"                                              ? v * 1000
                  : unit == "m"                                              ? v * 60000
                                                                             : -1;
        if (ms < 1 || ms > 3600000) {
          return fmt::format("wants a duration up to 1h such as 10s, not \"{}\"", value);
        }
        value = std::to_string(ms);
        return {};
      },
      "");
}

/// `observe`'s options into `out` and `args`.
void add_observe(CLI::App& cmd, ObserveOptions& out, ObserveArgs& args) {
  add_agent_options(cmd, out.agents, args.agents,
                    "the agents' admin addresses, host:port, comma-separated\n"
                    "(e.g. 10.0.0.1:15020,10.0.0.2:15020); plaintext observe is\n"
                    "served to loopback clients only",
                    /*has_default=*/true);
  cmd.add_option("--last", args.last, "the N newest records over all agents")
      ->type_name("N")
      ->check(CLI::Range(1L, 1L << 20));
  cmd.add_option("--since", out.since,
                 "records since a duration ago (30s, 5m, 1h) or an RFC 3339\n"
                 "time (2024-05-01T12:00:00Z)")
      ->type_name("TIME")
      ->check(non_empty("a duration or a time"));
  cmd.add_flag("-f,--follow", out.follow, "then print new records as they come, until interrupted")
      ->disable_flag_override();
  cmd.add_option("--follow-for", args.follow_for_ms, "with -f: stop after this long (e.g. 30s)")
      ->type_name("DURATION")
      ->transform(follow_duration());
  cmd.add_option("-n,--namespace", args.ns, "either end's namespace")
      ->type_name("NS")
      ->check(non_empty("a namespace"));
  cmd.add_option("--workload", args.workload, "either end's workload")
      ->type_name("NAME")
      ->check(non_empty("a workload"));
  cmd.add_option("--ip", args.ip, "either end's address, or a CIDR")
      ->type_name("IP")
      ->check(non_empty("an address"));
  cmd.add_option("--port", args.port, "either end's port")
      ->type_name("PORT")
      ->check(CLI::Range(1, 65535));
  cmd.add_option("--http-status", args.http_status,
                 "requests answered with this status: 503, a class (5xx) or a\n"
                 "floor (5+)")
      ->type_name("STATUS")
      ->check(non_empty("a status"));
  cmd.add_option("--verdict", args.verdict, "allowed, denied or failed")
      ->type_name("VERDICT")
      ->check(CLI::IsMember({"allowed", "denied", "failed"}));
  cmd.add_option("--type", args.type, "request or connection")
      ->type_name("TYPE")
      ->check(CLI::IsMember({"request", "connection"}));
  cmd.add_option("--trace-id", args.trace_id, "the requests of one trace (W3C or B3 trace id)")
      ->type_name("ID")
      ->check(non_empty("a trace id"));
  add_output_option(cmd, args.output, {"table", "wide", "json"});
}

/// out's limits, filters and format from what CLI11 read.
std::expected<void, std::string> finish_observe(const ObserveArgs& args, ObserveOptions& out) {
  if (args.follow_for_ms != 0 && !out.follow) {
    return std::unexpected("--follow-for goes with -f");
  }
  if (args.last != 0) {
    out.last = static_cast<std::size_t>(args.last);
  }
  out.follow_for = std::chrono::milliseconds(args.follow_for_ms);
  out.agent_lookup = finish_agents(args.agents);
  for (auto [key, value] :
       {std::pair{"namespace", &args.ns}, std::pair{"workload", &args.workload},
        std::pair{"ip", &args.ip}, std::pair{"port", &args.port},
        std::pair{"http_status", &args.http_status}, std::pair{"verdict", &args.verdict},
        std::pair{"type", &args.type}, std::pair{"trace_id", &args.trace_id}}) {
    if (!value->empty()) {
      out.filters.emplace_back(key, *value);
    }
  }
  out.format = args.output == "json"   ? OutputFormat::Json
               : args.output == "wide" ? OutputFormat::Wide
                                       : OutputFormat::Table;
  return {};
}

/// The command tree, bound to one CommandLine.
struct Parser {
  CLI::App app{kProgram, "weftctl"};
  CLI::App* ca_create = nullptr;
  CLI::App* stat = nullptr;
  CLI::App* routes = nullptr;
  CLI::App* edges = nullptr;
  CLI::App* check = nullptr;
  CLI::App* tap = nullptr;
  CLI::App* top = nullptr;
  std::string check_output = "table";
  AgentArgs check_agents;
  TapArgs tap_args;
  CLI::App* observe = nullptr;
  ObserveArgs observe_args;
  SourceArgs stat_args;
  SourceArgs routes_args;
  SourceArgs edges_args;

  explicit Parser(CommandLine& out) {
    cli::prepare(app);
    app.set_version_flag("--version", "weftctl " WEFT_VERSION, "print the version and exit");
    CLI::App& ca = *app.add_subcommand("ca", kCa);
    ca_create = add_ca_create(ca, out.ca_create);
    stat = app.add_subcommand("stat", kStat);
    stat->footer(kStatFooter);
    add_source_options(*stat, "ns, deploy (workload) or svc, optionally /NAME", resource(),
                       out.stat.source, stat_args);
    stat->add_option("--from", stat_args.from, "only traffic from deploy/NAME or ns/NAME")
        ->type_name("RESOURCE")
        ->check(workload_or_namespace());
    stat->add_option("--from-namespace", stat_args.from_ns, "namespace of --from's deploy")
        ->type_name("NS")
        ->check(non_empty("a namespace"));
    stat->add_option("--to", stat_args.to,
                     "only traffic to deploy/NAME or ns/NAME; the rows are its clients")
        ->type_name("RESOURCE")
        ->check(workload_or_namespace());
    stat->add_option("--to-namespace", stat_args.to_ns, "namespace of --to's deploy")
        ->type_name("NS")
        ->check(non_empty("a namespace"));
    routes = app.add_subcommand("routes", kRoutes);
    routes->footer(kRoutesFooter);
    add_source_options(*routes, "svc/NAME", one_service(), out.stat.source, routes_args);
    edges = app.add_subcommand("edges", kEdges);
    edges->footer(kEdgesFooter);
    add_source_options(*edges, "deploy (workloads)", workloads(), out.edges.source, edges_args);
    check = app.add_subcommand("check", kCheck);
    check->footer(kCheckFooter);
    add_check(*check, out.check, check_output, check_agents);
    tap = app.add_subcommand("tap", kTap);
    tap->footer(kTapFooter);
    add_tap_options(*tap, out.tap, tap_args);
    top = app.add_subcommand("top", kTop);
    top->footer(kTopFooter);
    add_tap_options(*top, out.tap, tap_args);
    observe = app.add_subcommand("observe", kObserve);
    observe->footer(kObserveFooter);
    add_observe(*observe, out.observe, observe_args);
    // Set last: commands inherit the footer their parent has when they are added.
    app.footer(kProgramFooter);
  }
};

}  // namespace

std::expected<CommandLine, UsageError> parse_command_line(std::span<const std::string> args) {
  CommandLine out;
  Parser parser(out);
  auto parsed = cli::parse(parser.app, args, "option");
  if (!parsed) {
    return std::unexpected(UsageError{parsed.error().reason, parsed.error().help});
  }
  if (parsed->command == nullptr) {
    out.text = std::move(parsed->text);
    return out;
  }
  if (parsed->command == parser.check) {
    out.check.format = parser.check_output == "json"   ? OutputFormat::Json
                       : parser.check_output == "wide" ? OutputFormat::Wide
                                                       : OutputFormat::Table;
    out.check.agent_lookup = finish_agents(parser.check_agents);
    out.action = CommandLine::Action::Check;
    return out;
  }
  if (parsed->command == parser.observe) {
    if (auto ok = finish_observe(parser.observe_args, out.observe); !ok) {
      return std::unexpected(
          UsageError{fmt::format("observe: {}", ok.error()), "weftctl observe --help"});
    }
    out.action = CommandLine::Action::Observe;
    return out;
  }
  if (parsed->command == parser.tap || parsed->command == parser.top) {
    bool top = parsed->command == parser.top;
    const char* name = top ? "top" : "tap";
    const char* refusal = !out.tap.to_ns.empty() && out.tap.to_resource.empty()
                              ? "--to-namespace goes with --to"
                          : (out.tap.cert.empty() != out.tap.key.empty() ||
                             out.tap.cert.empty() != out.tap.cacert.empty())
                              ? "--cert, --key and --cacert go together"
                              : nullptr;
    if (refusal != nullptr) {
      return std::unexpected(
          UsageError{fmt::format("{}: {}", name, refusal), fmt::format("weftctl {} --help", name)});
    }
    out.tap.duration = std::chrono::milliseconds(parser.tap_args.duration_ms);
    out.tap.agent_lookup = finish_agents(parser.tap_args.agents);
    out.tap.format = parser.tap_args.output == "json"   ? OutputFormat::Json
                     : parser.tap_args.output == "wide" ? OutputFormat::Wide
                                                        : OutputFormat::Table;
    out.action = top ? CommandLine::Action::Top : CommandLine::Action::Tap;
    return out;
  }
  if (parsed->command == parser.stat || parsed->command == parser.routes ||
      parsed->command == parser.edges) {
    bool stat = parsed->command == parser.stat;
    bool routes = parsed->command == parser.routes;
    const char* name = stat ? "stat" : routes ? "routes" : "edges";
    const SourceArgs& args = stat     ? parser.stat_args
                             : routes ? parser.routes_args
                                      : parser.edges_args;
    auto ok = finish_source(args, stat || routes ? out.stat.source : out.edges.source);
    if (ok && routes && args.all_namespaces) {
      ok = std::unexpected("-A: a Service is in one namespace (-n)");
    }
    if (ok && (stat || routes)) {
      ok = finish_stat(args, out.stat);
      if (routes) {
        out.stat.selection.kind = StatKind::Route;
      }
    }
    if (!ok) {
      return std::unexpected(UsageError{fmt::format("{}: {}", name, ok.error()),
                                        fmt::format("weftctl {} --help", name)});
    }
    if (!stat && !routes) {
      out.edges.ns = parser.edges_args.all_namespaces ? "" : parser.edges_args.ns;
    }
    out.action = stat     ? CommandLine::Action::Stat
                 : routes ? CommandLine::Action::Routes
                          : CommandLine::Action::Edges;
    return out;
  }
  out.action = CommandLine::Action::CaCreate;
  return out;
}

std::string usage_message(const UsageError& error) {
  return fmt::format("weftctl: {} (see {})\n", error.reason, error.help);
}

}  // namespace weft::weftctl
