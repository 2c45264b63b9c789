#include "cni/CommandLine.hpp"

#include <fmt/format.h>

#include <charconv>
#include <optional>

namespace weft::cni {
namespace {

constexpr std::string_view kHelp =
    R"(weft-cni: chained CNI plugin (CNI 1.0.0) and installer for the weft mesh.

USAGE
  weft-cni                    run as a CNI plugin (the container runtime sets CNI_* and stdin)
  weft-cni install [FLAGS]    copy this binary into the CNI bin dir and chain weft-cni into
                              the node's primary CNI config
  weft-cni uninstall [FLAGS]  remove weft-cni's entry from the primary CNI config
  weft-cni --help             this text

PLUGIN CONFIG (an entry after the IP-assigning plugin in a .conflist)
  {"type": "weft-cni", "agentSocket": "/run/weft/cni.sock", "timeoutMs": 5000}
  cniVersion   0.3.0, 0.3.1, 0.4.0 or 1.0.0 (CHECK needs 0.4.0 or later)
  name, type   required by the CNI spec
  prevResult   the previous plugin's result, required for ADD and CHECK; printed back unchanged
  agentSocket  weft-agent's registration socket (default /run/weft/cni.sock)
  timeoutMs    deadline for the whole exchange with the agent, 1..600000 (default 5000)
  logLevel     debug, info, warn or error (default info); logs go to stderr only

ENVIRONMENT
  CNI_COMMAND (ADD, DEL, CHECK, VERSION), CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_PATH,
  CNI_ARGS ("K8S_POD_NAME=a;K8S_POD_NAMESPACE=b;K8S_POD_UID=c;IgnoreUnknown=1")

COMMANDS
  ADD      registers the pod with weft-agent, prints prevResult
  DEL      tells weft-agent the pod is gone; always exits 0 with empty output
  CHECK    succeeds only if weft-agent reports the pod meshed
  VERSION  prints the supported versions
  GC and STATUS (CNI 1.1) are refused with error code 4.

ERRORS (CNI error object on stdout, exit status 1)
  1 incompatible cniVersion    4 invalid CNI_* environment or unsupported command
  5 stdin unreadable           6 stdin is not JSON / a field has the wrong type / too large
  7 invalid network config (e.g. no prevResult: weft-cni must be chained)
  11 weft-agent unreachable or not answering within timeoutMs (try again later)
  999 weft-agent refused the pod (its reason is in "details"), or an internal error

INSTALLER FLAGS
  --cni-conf-dir DIR   CNI config dir (default /etc/cni/net.d)
  --cni-bin-dir DIR    CNI plugin binary dir (default /opt/cni/bin)
  --agent-socket PATH  agentSocket written into our entry (default /run/weft/cni.sock)
  --timeout-ms N       timeoutMs written into our entry, 1..600000 (default 5000)
  --wait-seconds N     install: how long to wait for the primary config, 0..86400 (default 60)
  --log-level LEVEL    debug, info, warn or error (default info)

  install uses the lexicographically first *.conflist, *.conf or *.json in the config dir
  (the file the runtime uses), converts a single-plugin .conf/.json into <name>.conflist,
  appends weft-cni's entry or replaces an existing one in place, and writes atomically.
  uninstall removes the entry and leaves the binary (runtimes need it to delete pods created
  while it was installed).
)";

std::optional<long> parse_number(std::string_view text, long min, long max) {
  long value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || value < min ||
      value > max) {
    return std::nullopt;
  }
  return value;
}

}  // namespace

Result<CommandLine> parse_command_line(std::span<const std::string_view> args) {
  CommandLine out;
  if (args.empty()) {
    return out;
  }
  std::string_view verb = args.front();
  if (verb == "--help" || verb == "-h" || verb == "help") {
    out.mode = CommandLine::Mode::Help;
    return out;
  }
  if (verb == "install") {
    out.mode = CommandLine::Mode::Install;
  } else if (verb == "uninstall") {
    out.mode = CommandLine::Mode::Uninstall;
  } else {
    return fail(
        Error::Kind::Config,
        fmt::format("unknown command \"{}\" (expected install, uninstall or --help)", verb));
  }
  for (std::size_t i = 1; i < args.size(); ++i) {
    std::string_view flag = args[i];
    std::optional<std::string_view> value;
    if (auto eq = flag.find('='); eq != std::string_view::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
    }
    if (flag == "--help" || flag == "-h") {
      out.mode = CommandLine::Mode::Help;
      return out;
    }
    if (!value) {
      if (i + 1 >= args.size()) {
        return fail(Error::Kind::Config, fmt::format("flag {} needs a value", flag));
      }
      value = args[++i];
    }
    auto bad = [&](std::string_view want) {
      return fail(Error::Kind::Config,
                  fmt::format("flag {}: \"{}\" is not {}", flag, *value, want));
    };
    if (flag == "--cni-conf-dir") {
      if (value->empty()) {
        return bad("a directory");
      }
      out.installer.conf_dir = *value;
    } else if (flag == "--cni-bin-dir") {
      if (value->empty()) {
        return bad("a directory");
      }
      out.installer.bin_dir = *value;
    } else if (flag == "--agent-socket") {
      // sun_path is 108 bytes including the NUL; the plugin rejects anything longer.
      if (value->empty() || value->front() != '/' || value->size() >= 108) {
        return bad("an absolute path shorter than 108 bytes");
      }
      out.installer.entry.agent_socket = *value;
    } else if (flag == "--timeout-ms") {
      auto n = parse_number(*value, 1, 600000);
      if (!n) {
        return bad("a number between 1 and 600000");
      }
      out.installer.entry.timeout_ms = static_cast<int>(*n);
    } else if (flag == "--wait-seconds") {
      auto n = parse_number(*value, 0, 86400);
      if (!n) {
        return bad("a number between 0 and 86400");
      }
      out.installer.wait_seconds = static_cast<int>(*n);
    } else if (flag == "--log-level") {
      if (!log::parse_level(*value, out.log_level)) {
        return bad("debug, info, warn or error");
      }
    } else {
      return fail(Error::Kind::Config, fmt::format("unknown flag {}", flag));
    }
  }
  return out;
}

std::string_view help_text() {
  return kHelp;
}

}  // namespace weft::cni
