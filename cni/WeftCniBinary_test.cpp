// Runs the built weft-cni binary the way a container runtime does: env vars, config on stdin,
// result or error on stdout, exit status.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cni/TestSupport.hpp"

using weft::cni::testing::FakeAgent;
using weft::cni::testing::TempDir;
namespace fs = std::filesystem;

extern char** environ;

namespace {

/// The binary under test: $WEFT_CNI_BINARY, else the path meson compiled in.
fs::path binary_path() {
  if (const char* env = std::getenv("WEFT_CNI_BINARY"); env != nullptr && *env != '\0') {
    return env;
  }
  return WEFT_CNI_BINARY;
}

struct Run {
  int status = -1;
  std::string out;
  std::string err;
};

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

/// Runs the binary with exactly `env` (no inherited environment), `input` on stdin.
Run run_cni(const std::vector<std::string>& args, const std::vector<std::string>& env,
            const std::string& input) {
  auto bin = binary_path();
  REQUIRE_MESSAGE(fs::exists(bin), "weft-cni binary not found at "
                                       << bin.string()
                                       << " (build it: ninja weft-cni, or set WEFT_CNI_BINARY)");
  TempDir io;
  auto in = io.path() / "stdin";
  auto out = io.path() / "stdout";
  auto err = io.path() / "stderr";
  std::ofstream(in, std::ios::binary) << input;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, in.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::vector<std::string> argv_store{bin.string()};
  argv_store.insert(argv_store.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_store) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  std::vector<std::string> env_store = env;
  std::vector<char*> envp;
  for (auto& e : env_store) {
    envp.push_back(e.data());
  }
  envp.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, bin.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  REQUIRE_MESSAGE(rc == 0, "posix_spawn failed: " << rc);
  int wstatus = 0;
  REQUIRE(::waitpid(pid, &wstatus, 0) == pid);
  Run run;
  run.status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
  run.out = slurp(out);
  run.err = slurp(err);
  return run;
}

std::vector<std::string> env_for(const char* command) {
  return {std::string("CNI_COMMAND=") + command,
          "CNI_CONTAINERID=bin-test-1",
          "CNI_NETNS=/var/run/netns/bin-test",
          "CNI_IFNAME=eth0",
          "CNI_ARGS=K8S_POD_NAME=web-0;K8S_POD_NAMESPACE=demo;K8S_POD_UID=u1;IgnoreUnknown=1",
          "CNI_PATH=/opt/cni/bin"};
}

const std::string kPrev =
    R"({"cniVersion":"1.0.0","interfaces":[{"name":"eth0","sandbox":"/var/run/netns/bin-test"}],)"
    R"("ips":[{"interface":0,"address":"10.244.9.5/24","gateway":"10.244.9.1"}],"dns":{}})";

std::string config_for(const std::string& socket) {
  return R"({"cniVersion":"1.0.0","name":"kind","type":"weft-cni","agentSocket":")" + socket +
         R"(","timeoutMs":1000,"prevResult":)" + kPrev + "}";
}

nlohmann::json cni_error_of(const Run& run) {
  CHECK(run.status == 1);
  auto doc = nlohmann::json::parse(run.out, nullptr, false);
  REQUIRE_MESSAGE(doc.is_object(), "stdout is not a JSON object: " << run.out);
  CHECK(doc.contains("cniVersion"));
  CHECK(doc.contains("msg"));
  CHECK(doc.contains("details"));
  return doc;
}

}  // namespace

TEST_CASE("weft-cni binary: VERSION") {
  auto run = run_cni({}, {"CNI_COMMAND=VERSION"}, R"({"cniVersion":"1.0.0"})");
  CHECK(run.status == 0);
  CHECK(run.out ==
        "{\"cniVersion\":\"1.0.0\",\"supportedVersions\":[\"0.3.0\",\"0.3.1\",\"0.4.0\","
        "\"1.0.0\"]}\n");
}

TEST_CASE("weft-cni binary: malformed stdin is a decoding error, never a crash") {
  for (const std::string& input :
       {std::string("not json at all"), std::string(R"({"cniVersion":"1.0.0","name":)"),
        std::string(2 * 1024 * 1024, '['), std::string(R"({"cniVersion":1.0})"),
        std::string("\xff\xfe{}", 4)}) {
    CAPTURE(input.substr(0, 40));
    auto run = run_cni({}, env_for("ADD"), input);
    auto err = cni_error_of(run);
    CHECK(err["code"] == 6);
  }
}

TEST_CASE("weft-cni binary: ADD with no agent is error 11 naming the socket") {
  TempDir dir;
  auto socket = (dir.path() / "absent.sock").string();
  auto run = run_cni({}, env_for("ADD"), config_for(socket));
  auto err = cni_error_of(run);
  CHECK(err["code"] == 11);
  CHECK(err["cniVersion"] == "1.0.0");
  CHECK(err["msg"].get<std::string>().find(socket) != std::string::npos);
  // Logs go to stderr only.
  CHECK(run.err.find("agent_unreachable") != std::string::npos);
}

TEST_CASE("weft-cni binary: DEL with no agent exits 0 and prints nothing") {
  TempDir dir;
  auto socket = (dir.path() / "absent.sock").string();
  auto env = env_for("DEL");
  env.erase(env.begin() + 2);  // CNI_NETNS: the netns may be gone already
  auto run = run_cni({}, env, config_for(socket));
  CHECK(run.status == 0);
  CHECK(run.out.empty());
}

TEST_CASE("weft-cni binary: ADD against a live agent prints prevResult unchanged") {
  TempDir dir;
  auto socket = (dir.path() / "agent.sock").string();
  FakeAgent agent(socket, FakeAgent::Behaviour::Accept);
  auto run = run_cni({}, env_for("ADD"), config_for(socket));
  CHECK(run.status == 0);
  CHECK(run.out == kPrev + "\n");
  auto got = agent.requests();
  REQUIRE(got.size() == 1);
  CHECK(got[0].container_id == "bin-test-1");
  CHECK(got[0].ips == std::vector<std::string>{"10.244.9.5/24"});
  CHECK(got[0].pod_name == "web-0");
}

TEST_CASE("weft-cni binary: --help and unknown arguments") {
  auto help = run_cni({"--help"}, {}, "");
  CHECK(help.status == 0);
  CHECK(help.out.find("--cni-conf-dir") != std::string::npos);
  auto bad = run_cni({"frobnicate"}, {}, "");
  CHECK(bad.status == 2);
  CHECK(bad.out.empty());
  CHECK(bad.err.find("unknown command 'frobnicate'") != std::string::npos);
}

TEST_CASE("weft-cni binary: bad usage of a command exits 2 with the reason on stderr") {
  struct Case {
    std::vector<std::string> args;
    const char* reason;
  };
  for (const auto& c : {
           Case{{"install", "--bogus"}, "install: unknown flag --bogus"},
           Case{{"uninstall", "--cni-conf-dir"}, "uninstall: --cni-conf-dir: 1 required DIR"},
           Case{{"install", "--timeout-ms", "0"}, "install: --timeout-ms: \"0\" is not a number"},
       }) {
    CAPTURE(c.reason);
    // No CNI_* variables and nothing on stdin: a refused command line never reaches the plugin.
    auto run = run_cni(c.args, {}, "");
    CHECK(run.status == 2);
    CHECK(run.out.empty());
    CHECK_MESSAGE(run.err.find(c.reason) != std::string::npos, run.err);
    CHECK_MESSAGE(run.err.find("weft-cni " + c.args.front() + " --help") != std::string::npos,
                  run.err);
  }
  auto help = run_cni({"uninstall", "--help"}, {}, "");
  CHECK(help.status == 0);
  CHECK(help.out.find("Usage: weft-cni uninstall [OPTIONS]") != std::string::npos);
  CHECK(help.err.empty());
}

TEST_CASE("weft-cni binary: install into a temp node") {
  TempDir node;
  auto conf = node.path() / "net.d";
  fs::create_directories(conf);
  fs::copy_file(fs::path(WEFT_CNI_TESTDATA) / "conf_conversion.conf", conf / "10-bridge.conf");
  auto run = run_cni({"install", "--cni-conf-dir", conf.string(), "--cni-bin-dir",
                      (node.path() / "bin").string(), "--wait-seconds", "0"},
                     {}, "");
  CHECK_MESSAGE(run.status == 0, run.err);
  CHECK(run.out.empty());
  CHECK(fs::exists(conf / "10-bridge.conflist"));
  CHECK_FALSE(fs::exists(conf / "10-bridge.conf"));
  CHECK(fs::file_size(node.path() / "bin" / "weft-cni") == fs::file_size(binary_path()));
  auto missing = run_cni({"install", "--cni-conf-dir", (node.path() / "empty").string(),
                          "--cni-bin-dir", (node.path() / "bin").string(), "--wait-seconds", "0"},
                         {}, "");
  CHECK(missing.status == 1);
  CHECK(missing.err.find("no CNI network config") != std::string::npos);
}
