#include "cni/CniArgs.hpp"

#include <doctest/doctest.h>

#include <map>
#include <optional>

#include "cni/CniEnv.hpp"
#include "cni/TestSupport.hpp"

using namespace weft::cni;
using weft::cni::testing::env_of;

TEST_CASE("CNI_ARGS: pod identity is read from K8S_* keys") {
  struct Case {
    const char* text;
    const char* name;
    const char* ns;
    const char* uid;
  };
  for (auto c : {
           Case{"K8S_POD_NAME=a;K8S_POD_NAMESPACE=b;K8S_POD_UID=c;IgnoreUnknown=1", "a", "b", "c"},
           Case{"IgnoreUnknown=1;K8S_POD_NAMESPACE=demo;K8S_POD_NAME=web-0", "web-0", "demo", ""},
           Case{"", "", "", ""},
           Case{";;K8S_POD_NAME=x;", "x", "", ""},
           Case{"K8S_POD_NAME=a=b", "a=b", "", ""},
           Case{"K8S_POD_NAME=", "", "", ""},
           Case{"FOO=bar;IgnoreUnknown=true;K8S_POD_NAME=p", "p", "", ""},
           Case{"K8S_POD_INFRA_CONTAINER_ID=abc;K8S_POD_NAME=p", "p", "", ""},
       }) {
    CAPTURE(c.text);
    auto args = parse_cni_args(c.text);
    REQUIRE(args);
    CHECK(args->pod_name == c.name);
    CHECK(args->pod_namespace == c.ns);
    CHECK(args->pod_uid == c.uid);
  }
}

TEST_CASE("CNI_ARGS: malformed pairs and unknown keys are invalid-environment errors") {
  struct Case {
    const char* text;
    const char* detail;
  };
  for (auto c : {
           Case{"K8S_POD_NAME", "not a KEY=VALUE pair"},
           Case{"=x", "not a KEY=VALUE pair"},
           Case{"FOO=bar", "unknown key \"FOO\""},
           Case{"FOO=bar;IgnoreUnknown=0", "unknown key"},
           Case{"IgnoreUnknown=maybe", "IgnoreUnknown must be"},
       }) {
    CAPTURE(c.text);
    auto args = parse_cni_args(c.text);
    REQUIRE_FALSE(args);
    CHECK(args.error().code == ErrorCode::InvalidEnvironment);
    CHECK(args.error().details.find(c.detail) != std::string::npos);
  }
}

namespace {

std::map<std::string, std::string> good_env() {
  return {{"CNI_COMMAND", "ADD"},
          {"CNI_CONTAINERID", "c0ffee-1"},
          {"CNI_NETNS", "/var/run/netns/p1"},
          {"CNI_IFNAME", "eth0"},
          {"CNI_ARGS", "K8S_POD_NAME=web;K8S_POD_NAMESPACE=demo;K8S_POD_UID=u1;IgnoreUnknown=1"},
          {"CNI_PATH", "/opt/cni/bin::/usr/lib/cni"}};
}

}  // namespace

TEST_CASE("CNI env: a complete environment is read") {
  auto env = read_cni_env(env_of(good_env()), Command::Add);
  REQUIRE(env);
  CHECK(env->container_id == "c0ffee-1");
  CHECK(env->netns == "/var/run/netns/p1");
  CHECK(env->ifname == "eth0");
  CHECK(env->args.pod_name == "web");
  CHECK(env->args.pod_uid == "u1");
  CHECK(env->cni_path == std::vector<std::string>{"/opt/cni/bin", "/usr/lib/cni"});
}

TEST_CASE("CNI env: each missing or malformed variable is error code 4") {
  struct Case {
    const char* var;
    std::optional<const char*> value;  // nullopt: unset
    Command command;
    const char* detail;
  };
  for (auto c : {
           Case{"CNI_CONTAINERID", std::nullopt, Command::Add, "CNI_CONTAINERID is not set"},
           Case{"CNI_CONTAINERID", "-abc", Command::Add, "must start with"},
           Case{"CNI_CONTAINERID", "a/b", Command::Check, "must start with"},
           Case{"CNI_IFNAME", std::nullopt, Command::Add, "CNI_IFNAME is not set"},
           Case{"CNI_IFNAME", "eth0/1", Command::Add, "not a valid interface name"},
           Case{"CNI_IFNAME", "a-very-long-ifname", Command::Add, "not a valid interface name"},
           Case{"CNI_NETNS", std::nullopt, Command::Add, "CNI_NETNS is not set"},
           Case{"CNI_NETNS", "", Command::Check, "CNI_NETNS is not set"},
           Case{"CNI_ARGS", "K8S_POD_NAME=a;bogus", Command::Add, "not a KEY=VALUE pair"},
       }) {
    CAPTURE(c.var);
    CAPTURE(c.detail);
    auto vars = good_env();
    if (c.value) {
      vars[c.var] = *c.value;
    } else {
      vars.erase(c.var);
    }
    auto env = read_cni_env(env_of(vars), c.command);
    REQUIRE_FALSE(env);
    CHECK(env.error().code == ErrorCode::InvalidEnvironment);
    CHECK(env.error().details.find(c.detail) != std::string::npos);
  }
}

TEST_CASE("CNI env: DEL tolerates a missing netns") {
  auto vars = good_env();
  vars.erase("CNI_NETNS");
  auto env = read_cni_env(env_of(vars), Command::Del);
  REQUIRE(env);
  CHECK(env->netns.empty());
}

TEST_CASE("CNI env: CNI_COMMAND is required and must be known") {
  CHECK(read_command(env_of({{"CNI_COMMAND", "ADD"}})).value() == Command::Add);
  CHECK(read_command(env_of({{"CNI_COMMAND", "VERSION"}})).value() == Command::Version);
  CHECK(read_command(env_of({{"CNI_COMMAND", "GC"}})).value() == Command::Gc);
  for (auto bad : {std::optional<std::string>{}, std::optional<std::string>{""},
                   std::optional<std::string>{"add"}, std::optional<std::string>{"FLY"}}) {
    std::map<std::string, std::string> vars;
    if (bad) {
      vars["CNI_COMMAND"] = *bad;
    }
    auto cmd = read_command(env_of(vars));
    REQUIRE_FALSE(cmd);
    CHECK(cmd.error().code == ErrorCode::InvalidEnvironment);
  }
}
