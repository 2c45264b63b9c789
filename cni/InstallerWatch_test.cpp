// keep_installed against a primary CNI that rewrites its config 20 times in every way
// installers do: in place (also in two slow halves), atomically, under a new name, as a
// single-plugin .conf; and against a removed binary.
#include "cni/InstallerWatch.hpp"

#include <doctest/doctest.h>
#include <sys/eventfd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "cni/TestSupport.hpp"
#include "common/AtomicFile.hpp"

using namespace weft::cni;
using weft::Fd;
using weft::write_file_atomically;
using weft::cni::testing::InstallerNode;
using weft::cni::testing::slurp;
using weft::cni::testing::spit;
namespace fs = std::filesystem;

namespace {

/// The primary CNI's conflist, told apart by its bridge name.
std::string conflist(const std::string& bridge) {
  return nlohmann::json{
      {"cniVersion", "1.0.0"},
      {"name", "kindnet"},
      {"plugins",
       {{{"type", "bridge"},
         {"bridge", bridge},
         {"ipam", {{"type", "host-local"}, {"ranges", {{{{"subnet", "10.244.1.0/24"}}}}}}}},
        {{"type", "portmap"}, {"capabilities", {{"portMappings", true}}}}}}}
      .dump(2);
}

/// A single-plugin .conf, as some primaries write.
std::string single_conf(const std::string& bridge) {
  return nlohmann::json{{"cniVersion", "0.4.0"},
                        {"name", "kindnet"},
                        {"type", "bridge"},
                        {"bridge", bridge},
                        {"ipam", {{"type", "host-local"}}}}
      .dump(2);
}

/// Whether the file the runtime uses is the primary's `bridge` version with exactly one
/// weft-cni entry, last, and no other file in the dir carries one.
bool chained(const InstallerNode& node, const std::string& bridge) {
  auto primary = find_primary_config(node.options.conf_dir);
  if (!primary) {
    return false;
  }
  auto doc = nlohmann::json::parse(slurp(*primary), nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || !doc["plugins"].is_array() || doc["plugins"].empty() ||
      doc["plugins"][0].value("bridge", "") != bridge ||
      doc["plugins"].back().value("type", "") != "weft-cni") {
    return false;
  }
  int entries = 0;
  for (const auto& name : node.conf_files()) {
    auto file = nlohmann::json::parse(slurp(node.options.conf_dir / name), nullptr, false);
    if (file.is_object() && file["plugins"].is_array()) {
      for (const auto& p : file["plugins"]) {
        entries += p.value("type", "") == "weft-cni" ? 1 : 0;
      }
    }
  }
  return entries == 1;
}

bool eventually(const std::function<bool()>& condition) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

}  // namespace

TEST_CASE("installer --watch: 20 rewrites by the primary CNI, a removed binary, then stop") {
  InstallerNode node;
  std::string name = "50-kindnet.conflist";
  spit(node.options.conf_dir / name, conflist("cni0"));
  REQUIRE(install(node.options));

  Fd stop(::eventfd(0, EFD_CLOEXEC));
  REQUIRE(stop);
  weft::Result<void> result;
  std::thread watcher([&] { result = keep_installed(node.options, stop.get()); });

  for (int i = 1; i <= 20; ++i) {
    std::string bridge = "cni" + std::to_string(i);
    auto path = node.options.conf_dir / name;
    switch (i % 5) {
      case 0:  // in place, truncated and rewritten
        spit(path, conflist(bridge));
        break;
      case 1:  // atomically replaced
        REQUIRE(write_file_atomically(path, conflist(bridge), 0644));
        break;
      case 2: {  // under a new name that sorts first, the old file removed
        std::string renamed = std::to_string(49 - i) + "-kindnet.conflist";
        REQUIRE(write_file_atomically(node.options.conf_dir / renamed, conflist(bridge), 0644));
        fs::remove(path);
        name = renamed;
        break;
      }
      case 3: {  // replaced by a single-plugin .conf (converted back to .conflist)
        fs::remove(path);
        name = fs::path(name).stem().string() + ".conf";
        spit(node.options.conf_dir / name, single_conf(bridge));
        name = fs::path(name).stem().string() + ".conflist";
        break;
      }
      case 4: {  // in place, in two halves with a pause: the watcher sees a broken file first
        std::string text = conflist(bridge);
        spit(path, text.substr(0, text.size() / 2));
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        spit(path, text);
        break;
      }
    }
    CAPTURE(i);
    CAPTURE(name);
    CHECK_MESSAGE(eventually([&] { return chained(node, bridge); }),
                  "not chained: ", slurp(node.options.conf_dir / name));
  }

  auto binary = node.options.bin_dir / "weft-cni";
  fs::remove(binary);
  CHECK(eventually([&] { return fs::exists(binary); }));
  CHECK(slurp(binary) == slurp(node.options.self_exe));

  uint64_t one = 1;
  REQUIRE(::write(stop.get(), &one, sizeof(one)) == sizeof(one));
  watcher.join();
  CHECK(result);
  CHECK(chained(node, "cni20"));  // stopping leaves the entry in place
}
