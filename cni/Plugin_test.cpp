#include "cni/Plugin.hpp"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <stdexcept>

#include "cni/TestSupport.hpp"

using namespace weft::cni;
using weft::PodRegistration;
using weft::cni::testing::env_of;

namespace {

// Deliberately not in alphabetical key order: the plugin must echo it as is.
const std::string kPrev =
    R"({"cniVersion":"1.0.0","ips":[{"address":"10.244.1.5/24","gateway":"10.244.1.1","interface":0}],)"
    R"("interfaces":[{"sandbox":"/var/run/netns/p1","name":"eth0","mac":"aa:bb:cc:dd:ee:ff"}],)"
    R"("routes":[{"dst":"0.0.0.0/0"}],"dns":{"nameservers":["10.96.0.10"]}})";

const std::string kConfig =
    R"({"cniVersion":"0.4.0","name":"kind","type":"weft-cni","agentSocket":"/run/test.sock",)"
    R"("timeoutMs":1234,"prevResult":)" +
    kPrev + "}";

std::map<std::string, std::string> env_for(const char* command) {
  return {{"CNI_COMMAND", command},
          {"CNI_CONTAINERID", "abc123"},
          {"CNI_NETNS", "/var/run/netns/p1"},
          {"CNI_IFNAME", "eth0"},
          {"CNI_ARGS", "K8S_POD_NAME=web-0;K8S_POD_NAMESPACE=demo;K8S_POD_UID=u-1;IgnoreUnknown=1"},
          {"CNI_PATH", "/opt/cni/bin"}};
}

/// Records what the plugin asked of the agent and answers as told.
struct Recorder {
  std::vector<PodRegistration> regs;
  std::vector<std::string> sockets;
  std::vector<std::chrono::milliseconds> timeouts;
  std::optional<CniError> answer;  // nullopt: success
  bool throw_instead = false;
  int stdin_reads = 0;
};

PluginIo io_for(Recorder& rec, std::map<std::string, std::string> env, std::string input) {
  return PluginIo{env_of(std::move(env)),
                  [&rec, input = std::move(input)]() -> weft::Result<std::string> {
                    ++rec.stdin_reads;
                    return input;
                  },
                  [&rec](const std::string& socket, std::chrono::milliseconds timeout,
                         const PodRegistration& reg) -> std::expected<void, CniError> {
                    if (rec.throw_instead) {
                      throw std::runtime_error("boom");
                    }
                    rec.regs.push_back(reg);
                    rec.sockets.push_back(socket);
                    rec.timeouts.push_back(timeout);
                    if (rec.answer) {
                      return std::unexpected(*rec.answer);
                    }
                    return {};
                  }};
}

nlohmann::json error_of(const PluginOutcome& out) {
  REQUIRE(out.exit_status == 1);
  auto doc = nlohmann::json::parse(out.stdout_text);
  REQUIRE(doc.is_object());
  CHECK(doc.contains("cniVersion"));
  CHECK(doc.contains("msg"));
  CHECK(doc.contains("details"));
  return doc;
}

}  // namespace

TEST_CASE("plugin ADD registers the pod and prints prevResult unchanged") {
  Recorder rec;
  auto out = run_plugin(io_for(rec, env_for("ADD"), kConfig));
  CHECK(out.exit_status == 0);
  CHECK(out.stdout_text == kPrev + "\n");
  REQUIRE(rec.regs.size() == 1);
  const auto& reg = rec.regs[0];
  CHECK(reg.op == PodRegistration::Op::Add);
  CHECK(reg.container_id == "abc123");
  CHECK(reg.netns == "/var/run/netns/p1");
  CHECK(reg.ifname == "eth0");
  CHECK(reg.ips == std::vector<std::string>{"10.244.1.5/24"});
  CHECK(reg.pod_name == "web-0");
  CHECK(reg.pod_namespace == "demo");
  CHECK(reg.pod_uid == "u-1");
  CHECK(rec.sockets[0] == "/run/test.sock");
  CHECK(rec.timeouts[0] == std::chrono::milliseconds(1234));
}

TEST_CASE("plugin CHECK succeeds silently only when the agent says the pod is meshed") {
  Recorder rec;
  auto out = run_plugin(io_for(rec, env_for("CHECK"), kConfig));
  CHECK(out.exit_status == 0);
  CHECK(out.stdout_text.empty());
  REQUIRE(rec.regs.size() == 1);
  CHECK(rec.regs[0].op == PodRegistration::Op::Check);

  rec.answer = cni_error(ErrorCode::AgentRefused, "weft-agent refused check of the pod",
                         "pod abc123 is not meshed");
  auto err = error_of(run_plugin(io_for(rec, env_for("CHECK"), kConfig)));
  CHECK(err["code"] == 999);
  CHECK(err["details"] == "pod abc123 is not meshed");
  CHECK(err["cniVersion"] == "0.4.0");
}

TEST_CASE("plugin ADD reports agent failures as CNI errors in the config's version") {
  struct Case {
    ErrorCode code;
    int number;
  };
  for (auto c : {Case{ErrorCode::TryAgainLater, 11}, Case{ErrorCode::AgentRefused, 999}}) {
    Recorder rec;
    rec.answer = cni_error(c.code, "m", "why");
    auto err = error_of(run_plugin(io_for(rec, env_for("ADD"), kConfig)));
    CHECK(err["code"] == c.number);
    CHECK(err["details"] == "why");
    CHECK(err["cniVersion"] == "0.4.0");
  }
}

TEST_CASE("plugin passes pods of excluded namespaces through without asking the agent") {
  auto in = [](const char* ns) {
    auto env = env_for("ADD");
    env["CNI_ARGS"] = std::string("K8S_POD_NAME=coredns-0;K8S_POD_NAMESPACE=") + ns;
    return env;
  };
  for (const char* ns : {"kube-system", "weft-system"}) {
    Recorder rec;
    rec.answer = cni_error(ErrorCode::TryAgainLater, "agent down", "");  // not reached
    auto out = run_plugin(io_for(rec, in(ns), kConfig));
    CHECK(out.exit_status == 0);
    CHECK(out.stdout_text == kPrev + "\n");
    auto env = in(ns);
    env["CNI_COMMAND"] = "CHECK";
    auto checked = run_plugin(io_for(rec, env, kConfig));
    CHECK(checked.exit_status == 0);
    CHECK(rec.regs.empty());
  }
  // The list is the config's: an empty one meshes kube-system too; another namespace is listed.
  Recorder rec;
  std::string none = kConfig;
  none.insert(1, R"("excludeNamespaces":[],)");
  CHECK(run_plugin(io_for(rec, in("kube-system"), none)).exit_status == 0);
  CHECK(rec.regs.size() == 1);
  std::string infra = kConfig;
  infra.insert(1, R"("excludeNamespaces":["demo"],)");
  CHECK(run_plugin(io_for(rec, env_for("ADD"), infra)).exit_status == 0);
  CHECK(rec.regs.size() == 1);
}

TEST_CASE("plugin rejects bad input before calling the agent") {
  struct Case {
    std::map<std::string, std::string> env;
    std::string input;
    int code;
  };
  auto no_netns = env_for("ADD");
  no_netns.erase("CNI_NETNS");
  auto no_command = env_for("ADD");
  no_command.erase("CNI_COMMAND");
  const Case cases[] = {
      {env_for("ADD"), "{garbage", 6},
      {env_for("ADD"), R"({"cniVersion":"1.0.0","name":"n","type":"weft-cni"})", 7},
      {env_for("ADD"), R"({"cniVersion":"0.1.0","name":"n","type":"weft-cni"})", 1},
      {no_netns, kConfig, 4},
      {no_command, kConfig, 4},
      {env_for("GC"), kConfig, 4},
      {env_for("STATUS"), kConfig, 4},
      {env_for("BOGUS"), kConfig, 4},
  };
  for (const auto& c : cases) {
    CAPTURE(c.input.substr(0, 60));
    Recorder rec;
    auto err = error_of(run_plugin(io_for(rec, c.env, c.input)));
    CHECK(err["code"] == c.code);
    CHECK(rec.regs.empty());
  }
}

TEST_CASE("plugin GC and STATUS say they are unsupported") {
  Recorder rec;
  auto err = error_of(run_plugin(io_for(rec, env_for("GC"), kConfig)));
  CHECK(err["msg"] == "CNI_COMMAND GC is not supported");
}

TEST_CASE("plugin stdin failures are I/O (5) or decoding (6) errors") {
  for (auto [kind, code] :
       {std::pair{weft::Error::Kind::System, 5}, std::pair{weft::Error::Kind::Protocol, 6}}) {
    PluginIo io{env_of(env_for("ADD")),
                [kind = kind]() -> weft::Result<std::string> { return weft::fail(kind, "x"); },
                real_agent()};
    auto err = error_of(run_plugin(io));
    CHECK(err["code"] == code);
  }
}

TEST_CASE("plugin VERSION answers without reading stdin") {
  Recorder rec;
  auto out = run_plugin(io_for(rec, env_for("VERSION"), ""));
  CHECK(out.exit_status == 0);
  auto doc = nlohmann::json::parse(out.stdout_text);
  CHECK(doc["cniVersion"] == "1.0.0");
  CHECK(doc["supportedVersions"] == nlohmann::json::array({"0.3.0", "0.3.1", "0.4.0", "1.0.0"}));
  CHECK(rec.stdin_reads == 0);
}

TEST_CASE("plugin DEL always succeeds with empty output") {
  struct Case {
    std::map<std::string, std::string> env;
    std::string input;
    std::optional<CniError> answer;
    bool agent_called;
    const char* socket;
  };
  auto no_netns = env_for("DEL");
  no_netns.erase("CNI_NETNS");
  auto no_id = env_for("DEL");
  no_id.erase("CNI_CONTAINERID");
  const Case cases[] = {
      {env_for("DEL"), kConfig, std::nullopt, true, "/run/test.sock"},
      {env_for("DEL"), kConfig, cni_error(ErrorCode::TryAgainLater, "gone", "gone"), true,
       "/run/test.sock"},
      {env_for("DEL"), kConfig, cni_error(ErrorCode::AgentRefused, "no", "no"), true,
       "/run/test.sock"},
      {no_netns, R"({"cniVersion":"1.0.0","name":"n","type":"weft-cni"})", std::nullopt, true,
       "/run/weft/cni.sock"},
      // Undecodable config: the agent is still told, on the default socket.
      {env_for("DEL"), "{{{", std::nullopt, true, "/run/weft/cni.sock"},
      // Without a container id there is nothing to tell the agent.
      {no_id, kConfig, std::nullopt, false, ""},
  };
  for (const auto& c : cases) {
    CAPTURE(c.input.substr(0, 40));
    Recorder rec;
    rec.answer = c.answer;
    auto out = run_plugin(io_for(rec, c.env, c.input));
    CHECK(out.exit_status == 0);
    CHECK(out.stdout_text.empty());
    REQUIRE(rec.regs.size() == (c.agent_called ? 1U : 0U));
    if (c.agent_called) {
      CHECK(rec.regs[0].op == PodRegistration::Op::Del);
      CHECK(rec.sockets[0] == c.socket);
    }
  }
}

TEST_CASE("plugin turns an exception into a CNI error") {
  Recorder rec;
  rec.throw_instead = true;
  auto err = error_of(run_plugin(io_for(rec, env_for("ADD"), kConfig)));
  CHECK(err["code"] == 999);
  CHECK(err["msg"] == "weft-cni internal error");
  CHECK(err["details"] == "boom");
}

TEST_CASE("plugin DEL succeeds even when something throws") {
  Recorder rec;
  rec.throw_instead = true;
  auto out = run_plugin(io_for(rec, env_for("DEL"), kConfig));
  CHECK(out.exit_status == 0);
  CHECK(out.stdout_text.empty());
}
