#include "agent/config/Config.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using weft::agent::Config;
using weft::agent::Invocation;

namespace {
weft::Result<Invocation> parse(std::vector<const char*> args) {
  args.insert(args.begin(), "weft-agent");
  return weft::agent::parse_command_line(static_cast<int>(args.size()), args.data());
}
}  // namespace

TEST_CASE("flags override defaults, in both --k v and --k=v forms") {
  auto inv = parse({"--admin-address", "127.0.0.1:9999", "--workers=3", "--exclude-outbound-ports",
                    "22, 9999", "--socket-mark", "0x10"});
  REQUIRE(inv);
  CHECK(inv->config.admin_address == "127.0.0.1:9999");
  CHECK(inv->config.workers == 3);
  CHECK(inv->config.exclude_outbound_ports == std::vector<uint16_t>{22, 9999});
  CHECK(inv->config.socket_mark == 0x10);
  CHECK(inv->config.bpffs_dir == "/sys/fs/bpf/weft");
}

TEST_CASE("bad flags and values are errors that name the flag") {
  struct Case {
    std::vector<const char*> args;
    const char* says;
  };
  for (const auto& c : {
           Case{{"--no-such-flag", "1"}, "unknown flag --no-such-flag"},
           Case{{"--workers", "zero"}, "workers"},
           Case{{"--exclude-outbound-ports", "70000"}, "exclude_outbound_ports"},
           Case{{"--exclude-inbound-ports", "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17"},
                "17 ports, at most 16"},
           Case{{"--random-seed", "-1"}, "random_seed"},
           Case{{"--stall-timeout-seconds", "forever"}, "stall_timeout_seconds"},
           Case{{"--exclude-outbound-cidrs", "10.0.0.0/40"}, "bad CIDR"},
           Case{{"--log-level", "loud"}, "log_level"},
           Case{{"--admin-address"}, "needs a value"},
           Case{{"stray"}, "unexpected argument"},
       }) {
    auto inv = parse(c.args);
    REQUIRE_FALSE(inv);
    CHECK_MESSAGE(inv.error().message.find(c.says) != std::string::npos, inv.error().message);
  }
}

TEST_CASE("YAML config applies lists and scalars and rejects unknown keys") {
  Config c;
  REQUIRE(weft::agent::apply_yaml(c,
                                  "workers: 2\n"
                                  "exclude_outbound_cidrs: [10.0.0.0/8, fd00::/8]\n"
                                  "trust_domain: example.org\n",
                                  "test.yaml"));
  CHECK(c.workers == 2);
  CHECK(c.exclude_outbound_cidrs.size() == 2);
  CHECK(c.trust_domain == "example.org");
  auto bad = weft::agent::apply_yaml(c, "wrokers: 2\n", "test.yaml");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message == "test.yaml: unknown setting \"wrokers\"");
  CHECK_FALSE(weft::agent::apply_yaml(c, "workers: [1, 2", "test.yaml"));
}

TEST_CASE("uninstall and help are commands, and help lists every flag with defaults") {
  auto inv = parse({"uninstall", "--bpffs-dir", "/sys/fs/bpf/x"});
  REQUIRE(inv);
  CHECK(inv->command == Invocation::Command::Uninstall);
  CHECK(inv->config.bpffs_dir == "/sys/fs/bpf/x");
  auto help = weft::agent::help_text();
  CHECK(help.find("--registration-socket PATH") != std::string::npos);
  CHECK(help.find("(default /run/weft/cni.sock)") != std::string::npos);
  CHECK(help.find("--exclude-inbound-ports") != std::string::npos);
}

TEST_CASE("--check-config parses everything after it; --print-rbac needs no settings") {
  auto inv = parse({"--check-config", "--discovery", "kubernetes", "--bpffs-mount=false",
                    "--proc-dir", "/host/proc", "--kube-watch-timeout-seconds", "60"});
  REQUIRE(inv);
  CHECK(inv->command == Invocation::Command::CheckConfig);
  CHECK(inv->config.discovery == "kubernetes");
  CHECK_FALSE(inv->config.bpffs_mount);
  CHECK(inv->config.proc_dir == "/host/proc");
  CHECK(inv->config.kube_watch_timeout_seconds == 60);
  auto bad = parse({"--check-config", "--discovery", "k8s"});
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.find("expected dir or kubernetes") != std::string::npos);
  auto rbac = parse({"--print-rbac", "--no-such-flag"});
  REQUIRE(rbac);
  CHECK(rbac->command == Invocation::Command::PrintRbac);
}

TEST_CASE("port lists trim spaces and name the source of a bad item") {
  auto ok = weft::agent::parse_port_list(" 5432 ,6379,", "weft.io/exclude-outbound-ports");
  REQUIRE(ok);
  CHECK(*ok == std::vector<uint16_t>{5432, 6379});
  auto bad = weft::agent::parse_port_list("5432,http", "weft.io/exclude-outbound-ports");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.starts_with("weft.io/exclude-outbound-ports:"));
}
