#include "cni/CommandLine.hpp"
#include "cni/ConflistEdit.hpp"

#include <doctest/doctest.h>

#include <vector>

using namespace weft::cni;

namespace {

std::expected<CommandLine, UsageError> parse(std::vector<std::string> args) {
  return parse_command_line(args);
}

/// The help text a command line prints; fails the test if it is refused or runs something.
std::string help_for(std::vector<std::string> args) {
  auto cl = parse(args);
  REQUIRE_MESSAGE(cl, (cl ? "" : cl.error().reason));
  CHECK(cl->mode == CommandLine::Mode::Help);
  return cl->help;
}

}  // namespace

TEST_CASE("command line: no arguments is plugin mode") {
  auto cl = parse({});
  REQUIRE(cl);
  CHECK(cl->mode == CommandLine::Mode::Plugin);
  CHECK(cl->log_level == weft::log::Level::Info);
}

TEST_CASE("command line: installer flags in both spellings") {
  auto cl =
      parse({"install", "--cni-conf-dir", "/x/net.d", "--cni-bin-dir=/x/bin", "--agent-socket",
             "/run/a.sock", "--timeout-ms=250", "--wait-seconds", "0", "--log-level", "debug"});
  REQUIRE_MESSAGE(cl, (cl ? "" : cl.error().reason));
  CHECK(cl->mode == CommandLine::Mode::Install);
  CHECK(cl->installer.conf_dir == "/x/net.d");
  CHECK(cl->installer.bin_dir == "/x/bin");
  CHECK(cl->installer.entry.agent_socket == "/run/a.sock");
  CHECK(cl->installer.entry.timeout_ms == 250);
  CHECK(cl->installer.wait_seconds == 0);
  CHECK(cl->log_level == weft::log::Level::Debug);
  auto defaults = parse({"uninstall"});
  REQUIRE(defaults);
  CHECK(defaults->mode == CommandLine::Mode::Uninstall);
  CHECK(defaults->installer.conf_dir == "/etc/cni/net.d");
  CHECK(defaults->installer.bin_dir == "/opt/cni/bin");
  CHECK(defaults->installer.entry.agent_socket == "/run/weft/cni.sock");
  CHECK(defaults->installer.entry.timeout_ms == 5000);
  CHECK(defaults->installer.wait_seconds == 60);
  CHECK(defaults->log_level == weft::log::Level::Info);
}

TEST_CASE("command line: --exclude-namespaces goes into the entry, names checked") {
  auto cl = parse({"install", "--exclude-namespaces", "kube-system,weft-system,monitoring"});
  REQUIRE_MESSAGE(cl, (cl ? "" : cl.error().reason));
  REQUIRE(cl->installer.entry.exclude_namespaces);
  CHECK(*cl->installer.entry.exclude_namespaces ==
        std::vector<std::string>{"kube-system", "weft-system", "monitoring"});
  CHECK(make_entry(cl->installer.entry)["excludeNamespaces"].size() == 3);
  auto defaults = parse({"install"});
  REQUIRE(defaults);
  CHECK_FALSE(defaults->installer.entry.exclude_namespaces);
  CHECK_FALSE(make_entry(defaults->installer.entry).contains("excludeNamespaces"));
  auto bad = parse({"install", "--exclude-namespaces", std::string(64, 'a')});
  REQUIRE_FALSE(bad);
  CHECK(bad.error().reason.find("a namespace name (1 to 63 characters)") != std::string::npos);
}

TEST_CASE("command line: the last repeated flag wins, numbers are decimal") {
  // uninstall accepts every installer flag, as it always did.
  auto cl = parse({"uninstall", "--timeout-ms", "1", "--timeout-ms=010", "--wait-seconds", "9",
                   "--log-level", "error", "--log-level=warn"});
  REQUIRE_MESSAGE(cl, (cl ? "" : cl.error().reason));
  CHECK(cl->installer.entry.timeout_ms == 10);  // CLI11 alone reads "010" as octal 8
  CHECK(cl->installer.wait_seconds == 9);
  CHECK(cl->log_level == weft::log::Level::Warn);
}

TEST_CASE("command line: bad input is refused with a reason and the help to read") {
  struct Case {
    std::vector<std::string> args;
    const char* reason;
    const char* help;
  };
  for (const auto& c : {
           Case{{"frobnicate"},
                "unknown command 'frobnicate' (expected: install, uninstall)",
                "weft-cni --help"},
           Case{{"--nope"}, "unknown flag --nope", "weft-cni --help"},
           Case{{"install", "--nope", "1"}, "install: unknown flag --nope", ""},
           Case{{"install", "stray"}, "install: unexpected argument stray", ""},
           // A misspelt flag is named even when a later value is also bad.
           Case{{"install", "--timeout-ms", "0", "--cni-conf-dri", "/x"}, "unknown flag", ""},
           Case{{"install", "--cni-conf-dir"}, "--cni-conf-dir: 1 required DIR missing", ""},
           Case{{"install", "--cni-conf-dir="}, "--cni-conf-dir: 1 required DIR missing", ""},
           Case{{"install", "--timeout-ms", "0"}, "between 1 and 600000", ""},
           Case{{"install", "--timeout-ms", "12ms"}, "\"12ms\" is not a number between 1", ""},
           Case{{"install", "--wait-seconds=-1"}, "between 0 and 86400", ""},
           Case{{"install", "--wait-seconds=86401"}, "between 0 and 86400", ""},
           Case{{"install", "--agent-socket", "rel.sock"}, "absolute path", ""},
           Case{{"install", "--agent-socket", "/" + std::string(107, 's')}, "shorter than 108", ""},
           Case{{"install", "--log-level", "loud"}, "--log-level: \"loud\" is not debug, info", ""},
           Case{{"uninstall", "--log-level"},
                "uninstall: --log-level: 1 required LEVEL missing",
                "weft-cni uninstall --help"},
       }) {
    CAPTURE(c.reason);
    auto cl = parse(c.args);
    REQUIRE_FALSE(cl);
    CHECK_MESSAGE(cl.error().reason.find(c.reason) != std::string::npos, cl.error().reason);
    CHECK(cl.error().help == (*c.help != '\0' ? c.help : "weft-cni install --help"));
  }
}

TEST_CASE("command line: --help documents the plugin, and each command its flags") {
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"--help"}, {"-h"}, {"help"}, {"help", "install"}}) {
    auto help = help_for(args);
    CHECK(help.find("Usage: weft-cni [OPTIONS] [COMMAND]") != std::string::npos);
    for (auto word : {"agentSocket", "timeoutMs", "logLevel", "prevResult", "CNI_COMMAND",
                      "Usage: weft-cni install [OPTIONS]", "Usage: weft-cni uninstall [OPTIONS]",
                      "--cni-conf-dir DIR=/etc/cni/net.d", "--wait-seconds N=60"}) {
      CHECK_MESSAGE(help.find(word) != std::string::npos, word);
    }
  }
  // --help wins over anything else on the line.
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"install", "--help"}, {"install", "--nope", "--timeout-ms", "0", "-h"}}) {
    auto install = help_for(args);
    for (auto word :
         {"Usage: weft-cni install [OPTIONS]", "--cni-conf-dir DIR=/etc/cni/net.d",
          "--cni-bin-dir DIR=/opt/cni/bin", "--agent-socket PATH=/run/weft/cni.sock",
          "--timeout-ms N=5000", "--wait-seconds N=60", "--log-level LEVEL=info", "atomically"}) {
      CHECK_MESSAGE(install.find(word) != std::string::npos, word);
    }
    CHECK(install.find("prevResult") == std::string::npos);
  }
  auto uninstall = help_for({"uninstall", "--help"});
  CHECK(uninstall.find("Usage: weft-cni uninstall [OPTIONS]") != std::string::npos);
  CHECK(uninstall.find("leaves the binary") != std::string::npos);
}
