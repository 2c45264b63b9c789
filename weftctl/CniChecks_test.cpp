#include "weftctl/CniChecks.hpp"

#include <doctest/doctest.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

using namespace weft::weftctl;
namespace fs = std::filesystem;

namespace {

constexpr const char* kChained = R"({"cniVersion":"1.0.0","name":"k8s","plugins":[
  {"type":"bridge","bridge":"cni0"},{"type":"portmap"},
  {"type":"weft-cni","agentSocket":"/run/x/cni.sock","timeoutMs":5000}]})";

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/weftctl-cni-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() { fs::remove_all(path); }
  void write(const std::string& name, const std::string& text, fs::perms perms = fs::perms(0644)) {
    std::ofstream(path / name) << text;
    fs::permissions(path / name, perms);
  }
};

}  // namespace

TEST_CASE("cni checks: weft-cni must come once, after the primary plugin") {
  std::string socket;
  auto ok = chain_check("10-k8s.conflist", kChained, socket);
  CHECK(ok.status == CheckStatus::Ok);
  CHECK(ok.detail == "10-k8s.conflist: bridge -> portmap -> weft-cni");
  CHECK(socket == "/run/x/cni.sock");

  std::string default_socket;
  auto no_socket = chain_check(
      "a.conflist", R"({"plugins":[{"type":"bridge"},{"type":"weft-cni"}]})", default_socket);
  CHECK(no_socket.status == CheckStatus::Ok);
  CHECK(default_socket == "/run/weft/cni.sock");

  for (const auto& [text, reason] : std::vector<std::pair<const char*, const char*>>{
           {R"({"plugins":[{"type":"bridge"},{"type":"portmap"}]})",
            "chains no weft-cni: bridge -> portmap"},
           {R"({"plugins":[{"type":"weft-cni"},{"type":"bridge"}]})", "weft-cni comes first"},
           {R"({"plugins":[{"type":"bridge"},{"type":"weft-cni"},{"type":"weft-cni"}]})",
            "chained 2 times"},
           {R"({"type":"bridge","name":"single"})", "no conflist"},
           {R"({"plugins":)", "f.conflist: "},
       }) {
    CAPTURE(reason);
    std::string unused;
    auto r = chain_check("f.conflist", text, unused);
    CHECK(r.status == CheckStatus::Error);
    CHECK_MESSAGE(r.detail.find(reason) != std::string::npos, r.detail);
    CHECK(unused.empty());
  }
}

TEST_CASE("cni checks: the runtime's config, the binary and the agent's socket on disk") {
  TempDir conf;
  TempDir bin;
  std::string socket_path = (bin.path / "cni.sock").string();
  std::string chained = kChained;
  chained.replace(chained.find("/run/x/cni.sock"), 15, socket_path);
  // The runtime reads the first file in name order: 10-k8s, not 20-other.
  conf.write("10-k8s.conflist", chained);
  conf.write("20-other.conflist", R"({"plugins":[{"type":"bridge"}]})");

  auto results = cni_checks(conf.path, bin.path);
  REQUIRE(results.size() == 4);
  CHECK(results[0].status == CheckStatus::Ok);
  CHECK(results[0].detail == (conf.path / "10-k8s.conflist").string());
  CHECK(results[1].status == CheckStatus::Ok);
  CHECK(results[2].status == CheckStatus::Error);  // no weft-cni binary yet
  CHECK(results[2].hint.find("--cni-bin-dir " + bin.path.string()) != std::string::npos);
  CHECK(results[3].status == CheckStatus::Error);  // nobody listens there

  bin.write("weft-cni", "#!/bin/sh\n", fs::perms(0755));
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  socket_path.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  results = cni_checks(conf.path, bin.path);
  ::close(fd);
  for (const CheckResult& r : results) {
    CAPTURE(r.check);
    CHECK(r.status == CheckStatus::Ok);
  }

  bin.write("weft-cni", "not executable", fs::perms(0644));
  CHECK(cni_checks(conf.path, bin.path)[2].status == CheckStatus::Error);

  conf.write("05-first.conflist", R"({"plugins":[{"type":"bridge"}]})");
  results = cni_checks(conf.path, bin.path);
  CHECK(results[1].status == CheckStatus::Error);
  CHECK(results[1].detail.find("05-first.conflist chains no weft-cni") != std::string::npos);
  CHECK(results[1].hint.find("weft-cni install --cni-conf-dir") != std::string::npos);
}

TEST_CASE("cni checks: an empty or missing config dir fails") {
  TempDir bin;
  auto results = cni_checks(bin.path / "absent", bin.path);
  REQUIRE(results.size() == 2);
  CHECK(results[0].status == CheckStatus::Error);
  CHECK(results[0].detail.find("no CNI network config") != std::string::npos);
}
