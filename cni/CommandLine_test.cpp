#include "cni/CommandLine.hpp"

#include <doctest/doctest.h>

#include <vector>

using namespace weft::cni;

namespace {

weft::Result<CommandLine> parse(std::vector<std::string_view> args) {
  return parse_command_line(args);
}

}  // namespace

TEST_CASE("command line: no arguments is plugin mode, help is help") {
  CHECK(parse({})->mode == CommandLine::Mode::Plugin);
  CHECK(parse({"--help"})->mode == CommandLine::Mode::Help);
  CHECK(parse({"-h"})->mode == CommandLine::Mode::Help);
  CHECK(parse({"install", "--help"})->mode == CommandLine::Mode::Help);
}

TEST_CASE("command line: installer flags in both spellings") {
  auto cl =
      parse({"install", "--cni-conf-dir", "/x/net.d", "--cni-bin-dir=/x/bin", "--agent-socket",
             "/run/a.sock", "--timeout-ms=250", "--wait-seconds", "0", "--log-level", "debug"});
  REQUIRE(cl);
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
}

TEST_CASE("command line: bad input is refused with a reason") {
  struct Case {
    std::vector<std::string_view> args;
    const char* reason;
  };
  for (const auto& c : {
           Case{{"frobnicate"}, "unknown command"},
           Case{{"install", "--nope", "1"}, "unknown flag --nope"},
           Case{{"install", "--cni-conf-dir"}, "needs a value"},
           Case{{"install", "--timeout-ms", "0"}, "between 1 and 600000"},
           Case{{"install", "--timeout-ms", "12ms"}, "between 1 and 600000"},
           Case{{"install", "--wait-seconds=-1"}, "between 0 and 86400"},
           Case{{"install", "--agent-socket", "rel.sock"}, "absolute path"},
           Case{{"install", "--log-level", "loud"}, "debug, info"},
       }) {
    auto cl = parse(c.args);
    REQUIRE_FALSE(cl);
    CHECK_MESSAGE(cl.error().message.find(c.reason) != std::string::npos, cl.error().message);
  }
}

TEST_CASE("command line: --help documents config fields and installer flags") {
  auto help = help_text();
  for (auto word : {"agentSocket", "timeoutMs", "logLevel", "prevResult", "--cni-conf-dir",
                    "--cni-bin-dir", "--agent-socket", "--timeout-ms", "--wait-seconds"}) {
    CHECK_MESSAGE(help.find(word) != std::string_view::npos, word);
  }
}
