#include "agent/pods/StateFile.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

using weft::PodRegistration;

namespace {
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char tmpl[] = "/tmp/weft-state-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};
}  // namespace

TEST_CASE("state file round-trips registrations and tolerates a missing file") {
  TempDir dir;
  auto file = (dir.path / "sub" / "pods.json").string();
  auto empty = weft::agent::load_state(file);
  REQUIRE(empty);
  CHECK(empty->empty());

  PodRegistration a;
  a.container_id = "c1";
  a.netns = "/var/run/netns/a";
  a.ifname = "eth0";
  a.ips = {"10.0.0.2/24"};
  a.pod_name = "a";
  a.pod_namespace = "ns";
  PodRegistration b = a;
  b.container_id = "c2";
  REQUIRE(weft::agent::save_state(file, {a, b}));
  auto loaded = weft::agent::load_state(file);
  REQUIRE(loaded);
  REQUIRE(loaded->size() == 2);
  CHECK((*loaded)[1].container_id == "c2");
  CHECK((*loaded)[0].ips == a.ips);
}

TEST_CASE("a corrupt state file is an error naming the line") {
  TempDir dir;
  auto file = (dir.path / "pods.json").string();
  std::ofstream(file) << "{\"op\":\"add\"}\n";
  auto loaded = weft::agent::load_state(file);
  REQUIRE_FALSE(loaded);
  CHECK(loaded.error().message.find("pods.json:1") != std::string::npos);
}
