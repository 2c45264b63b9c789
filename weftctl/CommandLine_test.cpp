#include "weftctl/CommandLine.hpp"

#include <doctest/doctest.h>

#include <vector>

using namespace weft::weftctl;

namespace {

std::expected<CommandLine, UsageError> parse(std::vector<std::string> args) {
  return parse_command_line(args);
}

/// The help text a command line prints; fails the test if it is refused or runs something.
std::string help_for(std::vector<std::string> args) {
  auto cl = parse(args);
  REQUIRE_MESSAGE(cl, (cl ? "" : cl.error().reason));
  CHECK(cl->action == CommandLine::Action::Print);
  return cl->text;
}

}  // namespace

TEST_CASE("weftctl command line: ca create takes every option in both spellings") {
  auto cl = parse({"ca", "create", "--dir", "/tmp/ca", "--trust-domain=example.org",
                   "--anchor-days", "30", "--issuer-days=7", "--keep-root-key", "--force"});
  REQUIRE_MESSAGE(cl, (cl ? "" : cl.error().reason));
  CHECK(cl->action == CommandLine::Action::CaCreate);
  CHECK(cl->ca_create.dir == "/tmp/ca");
  CHECK(cl->ca_create.trust_domain == "example.org");
  CHECK(cl->ca_create.anchor_days == 30);
  CHECK(cl->ca_create.issuer_days == 7);
  CHECK(cl->ca_create.keep_root_key);
  CHECK(cl->ca_create.force);
}

TEST_CASE("weftctl command line: defaults, the last repeated option wins, days are decimal") {
  auto defaults = parse({"ca", "create", "--dir=d"});
  REQUIRE(defaults);
  CHECK(defaults->ca_create.trust_domain == "cluster.local");
  CHECK(defaults->ca_create.anchor_days == 3650);
  CHECK(defaults->ca_create.issuer_days == 365);
  CHECK_FALSE(defaults->ca_create.keep_root_key);
  CHECK_FALSE(defaults->ca_create.force);
  // As getopt did: the last one wins. CLI11 alone would read "010" as octal 8.
  auto last = parse({"ca", "create", "--dir", "a", "--dir", "b", "--anchor-days", "010"});
  REQUIRE(last);
  CHECK(last->ca_create.dir == "b");
  CHECK(last->ca_create.anchor_days == 10);
}

TEST_CASE("weftctl command line: bad usage is refused with a reason and the help to read") {
  struct Case {
    std::vector<std::string> args;
    const char* reason;
    const char* help;
  };
  for (const auto& c : {
           Case{{}, "no command (expected: ca create)", "weftctl --help"},
           Case{{"frobnicate"}, "unknown command 'frobnicate'", "weftctl --help"},
           Case{{"--bogus"}, "unknown option --bogus", "weftctl --help"},
           Case{{"ca"}, "ca: no command (expected: create)", "weftctl ca --help"},
           Case{{"ca", "frob"}, "ca: unknown command 'frob'", "weftctl ca --help"},
           Case{{"ca", "create"}, "ca create: --dir is required", "weftctl ca create --help"},
           Case{{"ca", "create", "--dir"}, "--dir: 1 required DIR missing", ""},
           Case{{"ca", "create", "--dir="}, "--dir: 1 required DIR missing", ""},
           Case{{"ca", "create", "--dir", "d", "--bogus"}, "ca create: unknown option --bogus", ""},
           // A typo is named, not reported as the option it was meant to be.
           Case{{"ca", "create", "--dri", "d"}, "unknown option --dri", ""},
           Case{{"ca", "create", "--dir", "d", "extra"}, "unexpected argument extra", ""},
           Case{{"ca", "create", "--dir", "d", "--anchor-days", "0"}, "--anchor-days: wants", ""},
           Case{{"ca", "create", "--dir", "d", "--issuer-days", "ten"}, "--issuer-days: wants", ""},
           Case{{"ca", "create", "--dir", "d", "--issuer-days", "36501"}, "1 to 36500", ""},
           Case{{"ca", "create", "--dir", "d", "--trust-domain", "Example.ORG"},
                "--trust-domain: must be lowercase",
                ""},
           Case{{"ca", "create", "--dir", "d", "--trust-domain"}, "--trust-domain: 1 required", ""},
           Case{{"ca", "create", "--dir", "d", "--force=yes"}, "force", ""},
       }) {
    CAPTURE(c.reason);
    auto cl = parse(c.args);
    REQUIRE_FALSE(cl);
    CHECK_MESSAGE(cl.error().reason.find(c.reason) != std::string::npos, cl.error().reason);
    CHECK(cl.error().help == (*c.help != '\0' ? c.help : "weftctl ca create --help"));
  }
}

TEST_CASE("weftctl command line: --help for the program and each command") {
  // The program's help documents every command's options too.
  for (const auto& args : std::vector<std::vector<std::string>>{{"--help"}, {"-h"}, {"help"}}) {
    auto help = help_for(args);
    CHECK(help.find("Usage: weftctl [OPTIONS] [COMMAND]") != std::string::npos);
    CHECK(help.find("Usage: weftctl ca create --dir DIR [OPTIONS]") != std::string::npos);
    CHECK(help.find("--version") != std::string::npos);
  }
  auto ca = help_for({"ca", "--help"});
  CHECK(ca.find("Usage: weftctl ca [OPTIONS] [COMMAND]") != std::string::npos);
  CHECK(ca.find("--version") == std::string::npos);
  // --help wins over anything else on the line, as it did with getopt.
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"ca", "create", "--help"}, {"ca", "create", "--dir", "d", "--bogus", "-h"}}) {
    auto create = help_for(args);
    CHECK(create.find("Usage: weftctl ca create --dir DIR [OPTIONS]") != std::string::npos);
    for (auto word : {"--trust-domain TD=cluster.local", "--anchor-days N=3650",
                      "--issuer-days N=365", "--keep-root-key", "--force", "trust-anchor.crt"}) {
      CHECK_MESSAGE(create.find(word) != std::string::npos, word);
    }
    CHECK(create.find("Usage: weftctl [OPTIONS]") == std::string::npos);
  }
  CHECK(help_for({"--version"}) == "weftctl " WEFT_VERSION "\n");
}
