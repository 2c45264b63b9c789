#include "cni/CommandLine.hpp"

#include <fmt/format.h>

#include <charconv>

#include "cni/CniConfig.hpp"
#include "common/CommandTree.hpp"

namespace weft::cni {
namespace {

constexpr const char* kProgram =
    R"(weft-cni: chained CNI plugin (CNI 1.0.0) and installer for the weft mesh.
Run with no arguments it is the CNI plugin: the container runtime sets CNI_* and stdin.)";

constexpr const char* kPlugin =
    R"(PLUGIN CONFIG (an entry after the IP-assigning plugin in a .conflist)
  {"type": "weft-cni", "agentSocket": "/run/weft/cni.sock", "timeoutMs": 5000}
  cniVersion   0.3.0, 0.3.1, 0.4.0 or 1.0.0 (CHECK needs 0.4.0 or later)
  name, type   required by the CNI spec
  prevResult   the previous plugin's result, required for ADD and CHECK; printed back unchanged
  agentSocket  weft-agent's registration socket (default /run/weft/cni.sock)
  timeoutMs    deadline for the whole exchange with the agent, 1..600000 (default 5000)
  logLevel     debug, info, warn or error (default info); logs go to stderr only
  excludeNamespaces  pods of these namespaces are not meshed (ADD passes prevResult through,
               the agent is not asked); default ["kube-system", "weft-system"]

ENVIRONMENT
  CNI_COMMAND (ADD, DEL, CHECK, VERSION), CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_PATH,
  CNI_ARGS ("K8S_POD_NAME=a;K8S_POD_NAMESPACE=b;K8S_POD_UID=c;IgnoreUnknown=1")

CNI COMMANDS (CNI_COMMAND)
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

A command line weft-cni refuses exits 2 with the reason on stderr.)";

constexpr const char* kInstall =
    "Copy this binary into the CNI bin dir and chain weft-cni into\n"
    "the node's primary CNI config.";

constexpr const char* kInstallFooter =
    R"(install uses the lexicographically first *.conflist, *.conf or *.json in the config dir
(the file the runtime uses), converts a single-plugin .conf/.json into <name>.conflist,
appends weft-cni's entry or replaces an existing one in place, and writes atomically. With
--watch it then watches the config and bin dirs (inotify) and puts back the entry or the
binary whenever the primary CNI rewrites, replaces or renames its config or the binary goes.)";

constexpr const char* kUninstall = "Remove weft-cni's entry from the node's primary CNI config.";

constexpr const char* kUninstallFooter =
    R"(uninstall removes the entry (nothing to remove is success) and leaves the binary: runtimes
need it to delete pods created while it was installed.)";

/// An integer in [min, max], decimal only (CLI11 alone would read "010" as octal 8), rewritten
/// in canonical form before CLI11 converts it.
CLI::Validator number_in(long min, long max) {
  return CLI::Validator(
      [min, max](std::string& value) -> std::string {
        long n = 0;
        auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
        if (value.empty() || ec != std::errc{} || end != value.data() + value.size() || n < min ||
            n > max) {
          return fmt::format("\"{}\" is not a number between {} and {}", value, min, max);
        }
        value = std::to_string(n);
        return {};
      },
      "");
}

/// `test` returns what the value should be ("a directory"), or "" when it is fine.
CLI::Validator must_be(std::string_view (*test)(const std::string&)) {
  return CLI::Validator(
      [test](const std::string& value) -> std::string {
        std::string_view want = test(value);
        return want.empty() ? "" : fmt::format("\"{}\" is not {}", value, want);
      },
      "");
}

std::string_view directory(const std::string& value) {
  return value.empty() ? "a directory" : "";
}

std::string_view socket_path(const std::string& value) {
  // sun_path is 108 bytes including the NUL; the plugin rejects anything longer.
  bool ok = !value.empty() && value.front() == '/' && value.size() < 108;
  return ok ? "" : "an absolute path shorter than 108 bytes";
}

std::string_view namespace_name(const std::string& value) {
  return excluded_namespaces_error({value}).empty() ? "" : "a namespace name (1 to 63 characters)";
}

std::string_view level(const std::string& value) {
  log::Level ignored;
  return log::parse_level(value, ignored) ? "" : "debug, info, warn or error";
}

/// The installer's flags. uninstall reads only --cni-conf-dir and --log-level but accepts (and
/// checks) them all, as it always has, so both commands can be given the same flags.
void add_installer_flags(CLI::App& app, CommandLine& out, bool installing) {
  auto install_only = [installing](const char* what) {
    return installing ? what : "unused by uninstall (accepted, as install takes it)";
  };
  const InstallerOptions defaults;
  app.add_option_function<std::string>(
         "--cni-conf-dir", [&out](const std::string& v) { out.installer.conf_dir = v; },
         "CNI config dir")
      ->type_name("DIR")
      ->default_str(defaults.conf_dir.string())
      ->check(must_be(directory));
  app.add_option_function<std::string>(
         "--cni-bin-dir", [&out](const std::string& v) { out.installer.bin_dir = v; },
         install_only("CNI plugin binary dir"))
      ->type_name("DIR")
      ->default_str(defaults.bin_dir.string())
      ->check(must_be(directory));
  app.add_option("--agent-socket", out.installer.entry.agent_socket,
                 install_only("agentSocket written into our entry"))
      ->type_name("PATH")
      ->capture_default_str()
      ->check(must_be(socket_path));
  app.add_option("--timeout-ms", out.installer.entry.timeout_ms,
                 install_only("timeoutMs written into our entry, 1..600000"))
      ->type_name("N")
      ->capture_default_str()
      ->transform(number_in(1, 600000));
  app.add_option_function<std::vector<std::string>>(
         "--exclude-namespaces",
         [&out](const std::vector<std::string>& v) { out.installer.entry.exclude_namespaces = v; },
         install_only("excludeNamespaces written into our entry (default: the plugin's, "
                      "kube-system and weft-system)"))
      ->type_name("NS,...")
      ->delimiter(',')
      ->check(must_be(namespace_name));
  app.add_option("--wait-seconds", out.installer.wait_seconds,
                 install_only("how long to wait for the primary config, 0..86400"))
      ->type_name("N")
      ->capture_default_str()
      ->transform(number_in(0, 86400));
  if (installing) {
    app.add_flag("--watch", out.installer.watch,
                 "after installing, keep the node chained until SIGTERM or SIGINT (below)");
  }
  app.add_option_function<std::string>(
         "--log-level", [&out](const std::string& v) { log::parse_level(v, out.log_level); },
         "debug, info, warn or error")
      ->type_name("LEVEL")
      ->default_str("info")
      ->check(must_be(level));
}

/// The command tree, bound to one CommandLine.
struct Parser {
  CLI::App app{kProgram, "weft-cni"};
  CLI::App* install = nullptr;
  CLI::App* uninstall = nullptr;

  explicit Parser(CommandLine& out) {
    cli::prepare(app);
    install = app.add_subcommand("install", kInstall);
    install->footer(kInstallFooter);
    add_installer_flags(*install, out, true);
    uninstall = app.add_subcommand("uninstall", kUninstall);
    uninstall->footer(kUninstallFooter);
    add_installer_flags(*uninstall, out, false);
    app.footer(kPlugin);
  }
};

}  // namespace

std::expected<CommandLine, UsageError> parse_command_line(std::span<const std::string> args) {
  CommandLine out;
  // The CNI contract: the runtime runs the plugin with no arguments. Decided before CLI11 sees
  // anything, so nothing about the command line can change the plugin's behaviour.
  if (args.empty()) {
    return out;
  }
  Parser parser(out);
  auto parsed = cli::parse(parser.app, args, "flag");
  if (!parsed) {
    return std::unexpected(UsageError{parsed.error().reason, parsed.error().help});
  }
  if (parsed->command == nullptr) {
    out.mode = CommandLine::Mode::Help;
    out.help = std::move(parsed->text);
  } else {
    bool installing = parsed->command == parser.install;
    out.mode = installing ? CommandLine::Mode::Install : CommandLine::Mode::Uninstall;
  }
  return out;
}

}  // namespace weft::cni
