#include "weftctl/CommandLine.hpp"

#include <doctest/doctest.h>

#include <chrono>
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
           Case{{},
                "no command (expected: ca create, stat, routes, edges, check, tap, top, observe)",
                "weftctl --help"},
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

TEST_CASE("weftctl command line: stat reads RESOURCE[/NAME], the agents, the window, the format") {
  auto cl = parse({"stat", "deploy/web", "-n", "shop", "--direct", "--agents", "a:15020,b:15020",
                   "--agents=c:1", "-t", "1m", "-o", "json"});
  REQUIRE_MESSAGE(cl, (cl ? "" : cl.error().reason));
  CHECK(cl->action == CommandLine::Action::Stat);
  const StatOptions& s = cl->stat;
  CHECK(s.selection.kind == StatKind::Workload);
  CHECK(s.selection.name == "web");
  CHECK(s.selection.ns == "shop");
  CHECK(s.source.agents == std::vector<std::string>{"a:15020", "b:15020", "c:1"});
  CHECK(s.source.window == std::chrono::minutes(1));
  CHECK(s.source.format == OutputFormat::Json);

  auto defaults = parse({"stat", "svc", "--direct", "--agents", "a:1"});
  REQUIRE(defaults);
  CHECK(defaults->stat.selection.kind == StatKind::Service);
  CHECK(defaults->stat.selection.name.empty());
  CHECK(defaults->stat.selection.ns == "default");
  CHECK(defaults->stat.source.window == std::chrono::seconds(10));
  CHECK(defaults->stat.source.format == OutputFormat::Table);
  auto all = parse(
      {"stat", "workloads", "-A", "--direct", "--agents", "a:1", "-t", "1500ms", "-o", "wide"});
  REQUIRE(all);
  CHECK(all->stat.selection.ns.empty());
  CHECK(all->stat.source.window == std::chrono::milliseconds(1500));
  CHECK(all->stat.source.format == OutputFormat::Wide);
  auto prom = parse({"stat", "svc/web", "--prometheus", "http://p:9090", "--show-query"});
  REQUIRE(prom);
  CHECK(prom->stat.source.prometheus == "http://p:9090");
  CHECK(prom->stat.source.show_query);
  CHECK(prom->stat.source.agents.empty());
  CHECK(prom->stat.source.window == std::chrono::minutes(1));  // Prometheus's default, as Linkerd's
  auto ns = parse({"stat", "ns/shop", "-n", "other", "--direct", "--agents", "a:1"});
  REQUIRE(ns);
  CHECK(ns->stat.selection.kind == StatKind::Namespace);
  CHECK(ns->stat.selection.name == "shop");
  CHECK(ns->stat.selection.ns.empty());  // -n does not filter namespaces
  auto between = parse({"stat", "deploy", "-n", "shop", "--from", "deploy/web", "--to", "ns/db",
                        "--direct", "--agents", "a:1"});
  REQUIRE(between);
  CHECK(between->stat.selection.from == StatPeer{"shop", "web"});
  CHECK(between->stat.selection.to == StatPeer{"db", ""});
  auto other = parse({"stat", "deploy", "--to", "deploy/db", "--to-namespace", "data", "--direct",
                      "--agents", "a:1"});
  REQUIRE(other);
  CHECK(other->stat.selection.to == StatPeer{"data", "db"});
  auto api = parse({"stat", "deploy", "--direct", "--in-cluster", "--agent-port", "9"});
  REQUIRE(api);
  CHECK(api->stat.source.agents.empty());
  REQUIRE(api->stat.source.agent_lookup);
  CHECK(api->stat.source.agent_lookup->kubeconfig.empty());
  CHECK(api->stat.source.agent_lookup->ns == "weft-system");
  CHECK(api->stat.source.agent_lookup->port == 9);
  auto routes = parse({"routes", "svc/web", "-n", "shop", "--direct", "--agents", "a:1"});
  REQUIRE(routes);
  CHECK(routes->action == CommandLine::Action::Routes);
  CHECK(routes->stat.selection.kind == StatKind::Route);
  CHECK(routes->stat.selection.name == "web");
  CHECK(routes->stat.selection.ns == "shop");
}

TEST_CASE("weftctl command line: stat refuses what it cannot do, with a reason") {
  struct Case {
    std::vector<std::string> args;
    const char* reason;
  };
  for (const auto& c : {
           Case{{"stat"}, "RESOURCE is required"},
           Case{{"stat", "pods", "--direct", "--agents", "a:1"}, "wants ns, deploy, workload"},
           Case{{"stat", "deploy/", "--direct", "--agents", "a:1"}, "names no deploy after '/'"},
           Case{{"stat", "deploy"}, "stat: give one of --prometheus URL and --direct"},
           Case{{"stat", "deploy", "--direct", "--agents", "a:1", "--prometheus", "http://p"},
                "give one of"},
           Case{{"stat", "deploy", "--prometheus", "http://p", "--agents", "a:1"},
                "--agents, --kubeconfig and --in-cluster go with --direct"},
           Case{{"stat", "deploy", "--direct", "--agents", "a:1", "--show-query"},
                "--show-query goes with --prometheus"},
           Case{{"stat", "deploy", "--prometheus", "http://p", "-t", "1500ms"}, "whole seconds"},
           Case{{"stat", "deploy", "--direct"}, "stat: --direct needs --agents"},
           Case{{"stat", "deploy", "--direct", "--agents", "a:1", "--in-cluster"}, "excludes"},
           Case{{"stat", "deploy", "--direct", "--agents", "a:1", "-t", "500ms"}, "from 1s to 1h"},
           Case{{"stat", "deploy", "--direct", "--agents", "a:1", "-t", "2h"}, "from 1s to 1h"},
           Case{{"stat", "deploy", "--direct", "--agents", "a:1", "-t", "10"}, "from 1s to 1h"},
           Case{{"stat", "deploy", "--direct", "--agents", "a:1", "-o", "yaml"}, "--output"},
           Case{{"stat", "deploy", "--direct", "--agents", "a:1", "-n", ""}, "wants a namespace"},
           Case{{"stat", "svc", "--direct", "--agents", "a:1", "--to", "deploy/x"},
                "--to: a Service's rows"},
           Case{{"stat", "deploy", "--direct", "--agents", "a:1", "--to", "svc/x"},
                "--to: wants deploy/NAME or ns/NAME"},
           Case{{"stat", "deploy", "--direct", "--agents", "a:1", "--from-namespace", "x"},
                "go with --from and --to"},
       }) {
    CAPTURE(c.reason);
    auto cl = parse(c.args);
    REQUIRE_FALSE(cl);
    CHECK_MESSAGE(cl.error().reason.find(c.reason) != std::string::npos, cl.error().reason);
    CHECK(cl.error().help == "weftctl stat --help");
  }
}

TEST_CASE("weftctl command line: edges takes workloads, a namespace and the same sources") {
  auto cl = parse({"edges", "deploy", "-n", "shop", "--prometheus", "http://p:9090", "-o", "wide"});
  REQUIRE_MESSAGE(cl, (cl ? "" : cl.error().reason));
  CHECK(cl->action == CommandLine::Action::Edges);
  CHECK(cl->edges.ns == "shop");
  CHECK(cl->edges.source.prometheus == "http://p:9090");
  CHECK(cl->edges.source.format == OutputFormat::Wide);
  auto all = parse({"edges", "workloads", "-A", "--direct", "--agents", "a:1"});
  REQUIRE(all);
  CHECK(all->edges.ns.empty());
  CHECK(all->edges.source.agents == std::vector<std::string>{"a:1"});
  for (const auto& [args, reason] : std::vector<std::pair<std::vector<std::string>, const char*>>{
           {{"edges", "svc", "--direct", "--agents", "a:1"}, "wants deploy or workload"},
           {{"edges", "deploy"}, "edges: give one of --prometheus URL and --direct"}}) {
    auto bad = parse(args);
    REQUIRE_FALSE(bad);
    CHECK_MESSAGE(bad.error().reason.find(reason) != std::string::npos, bad.error().reason);
    CHECK(bad.error().help == "weftctl edges --help");
  }
}

TEST_CASE("weftctl command line: check takes the agents, Prometheus, the node's dirs, -o") {
  auto defaults = parse({"check"});
  REQUIRE_MESSAGE(defaults, (defaults ? "" : defaults.error().reason));
  CHECK(defaults->action == CommandLine::Action::Check);
  const CheckOptions& d = defaults->check;
  CHECK(d.agents == std::vector<std::string>{"127.0.0.1:15020"});
  CHECK(d.prometheus.empty());
  CHECK(d.cni_conf_dir == "/etc/cni/net.d");
  CHECK(d.cni_bin_dir == "/opt/cni/bin");
  CHECK(d.identity_dir == "/etc/weft/identity");
  CHECK_FALSE(d.skip_node);
  CHECK(d.format == OutputFormat::Table);

  auto cl = parse({"check", "--agents", "a:1,b:2", "--prometheus=http://p:9090", "--cni-conf-dir",
                   "/x/net.d", "--cni-bin-dir", "/x/bin", "--identity-dir", "/x/ca", "--skip-node",
                   "-o", "json"});
  REQUIRE_MESSAGE(cl, (cl ? "" : cl.error().reason));
  const CheckOptions& c = cl->check;
  CHECK(c.agents == std::vector<std::string>{"a:1", "b:2"});
  CHECK(c.prometheus == "http://p:9090");
  CHECK(c.cni_conf_dir == "/x/net.d");
  CHECK(c.cni_bin_dir == "/x/bin");
  CHECK(c.identity_dir == "/x/ca");
  CHECK(c.skip_node);
  CHECK(c.format == OutputFormat::Json);

  for (const auto& [args, reason] : std::vector<std::pair<std::vector<std::string>, const char*>>{
           {{"check", "-o", "yaml"}, "--output"},
           {{"check", "--agents", ""}, "wants host:port"},
           {{"check", "--identity-dir", ""}, "wants a directory"},
           {{"check", "extra"}, "extra"}}) {
    auto bad = parse(args);
    REQUIRE_FALSE(bad);
    CHECK_MESSAGE(bad.error().reason.find(reason) != std::string::npos, bad.error().reason);
    CHECK(bad.error().help == "weftctl check --help");
  }
  auto help = help_for({"check", "--help"});
  for (auto word : {"Usage: weftctl check [OPTIONS]", "--agents LIST=[127.0.0.1:15020]",
                    "--prometheus URL", "--cni-conf-dir DIR=/etc/cni/net.d",
                    "--cni-bin-dir DIR=/opt/cni/bin", "--identity-dir DIR=/etc/weft/identity",
                    "--skip-node", "-o,--output FORMAT:{table,wide,json}=table", "Exit status 1"}) {
    CHECK_MESSAGE(help.find(word) != std::string::npos, word);
  }
}
