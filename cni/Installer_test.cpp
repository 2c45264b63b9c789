#include "cni/Installer.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "cni/TestSupport.hpp"
#include "common/AtomicFile.hpp"

using namespace weft::cni;
using weft::write_file_atomically;
using weft::cni::testing::InstallerNode;
using weft::cni::testing::slurp;
using weft::cni::testing::spit;
namespace fs = std::filesystem;

namespace {

const fs::path kTestdata = WEFT_CNI_TESTDATA;

std::string replace_all(std::string text, std::string_view from, std::string_view to) {
  for (auto pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos)) {
    text.replace(pos, from.size(), to);
    pos += to.size();
  }
  return text;
}

/// Compares against testdata/<name>.golden; WEFT_UPDATE_GOLDEN=1 rewrites the golden instead.
void check_golden(const std::string& name, const std::string& actual) {
  auto golden = kTestdata / (name + ".golden");
  if (const char* update = std::getenv("WEFT_UPDATE_GOLDEN");
      update && std::string(update) == "1") {
    spit(golden, actual);
  }
  REQUIRE_MESSAGE(fs::exists(golden), "missing golden file " << golden.string());
  CHECK(actual == slurp(golden));
}

}  // namespace

TEST_CASE("installer golden files") {
  struct Case {
    const char* name;
    const char* input;  // file in testdata, or nullptr for an empty config dir
    bool uninstall;
    bool ok;
    bool rewritten;
  };
  const Case cases[] = {
      {"fresh_install", "fresh_install.conflist", false, true, true},
      {"already_installed", "already_installed.conflist", false, true, false},
      {"stale_entry", "stale_entry.conflist", false, true, true},
      {"conf_conversion", "conf_conversion.conf", false, true, true},
      {"missing_primary", nullptr, false, false, false},
      {"malformed_primary", "malformed_primary.conflist", false, false, false},
      {"unsupported_version", "unsupported_version.conflist", false, false, false},
      {"uninstall", "uninstall.conflist", true, true, true},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    InstallerNode node;
    fs::path input;
    if (c.input != nullptr) {
      input = node.options.conf_dir / (std::string("10-") + c.input);
      fs::copy_file(kTestdata / c.input, input);
    }
    // A later file must never be touched: only the first one is the runtime's config.
    const std::string later = R"({"cniVersion":"1.0.0","name":"later","plugins":[]})";
    if (c.input != nullptr) {
      spit(node.options.conf_dir / "99-later.conflist", later);
    }
    struct stat before {};
    bool had_input = !input.empty() && ::stat(input.c_str(), &before) == 0;

    auto result = c.uninstall ? uninstall(node.options) : install(node.options);
    if (c.input != nullptr) {
      CHECK(slurp(node.options.conf_dir / "99-later.conflist") == later);
    }
    if (!c.ok) {
      REQUIRE_FALSE(result);
      check_golden(
          c.name,
          "error: " + replace_all(result.error().message, node.root.path().string(), "<tmp>") +
              "\n");
      if (had_input) {
        CHECK(slurp(input) == slurp(kTestdata / c.input));
      }
      continue;
    }
    REQUIRE_MESSAGE(result, (result ? "" : result.error().message));
    auto primary = find_primary_config(node.options.conf_dir);
    REQUIRE(primary);
    check_golden(c.name, slurp(*primary));
    // No temp files left behind, and a converted .conf is gone.
    for (const auto& name : node.conf_files()) {
      CHECK(name.rfind(".weft-cni.", 0) == std::string::npos);
    }
    if (fs::path(c.input).extension() == ".conf") {
      CHECK(node.conf_files() ==
            std::vector<std::string>{"10-conf_conversion.conflist", "99-later.conflist"});
    }
    struct stat after {};
    REQUIRE(::stat(primary->c_str(), &after) == 0);
    bool same_inode = had_input && before.st_ino == after.st_ino && *primary == input;
    CHECK(same_inode == !c.rewritten);
    if (!c.uninstall) {
      auto binary = node.options.bin_dir / "weft-cni";
      CHECK(slurp(binary) == slurp(node.options.self_exe));
      struct stat st {};
      REQUIRE(::stat(binary.c_str(), &st) == 0);
      CHECK((st.st_mode & 0777) == 0755);
    }
  }
}

TEST_CASE("installer: install then uninstall restores the original plugin chain") {
  InstallerNode node;
  auto path = node.options.conf_dir / "10-kind.conflist";
  fs::copy_file(kTestdata / "fresh_install.conflist", path);
  node.options.entry.agent_socket = "/run/custom/agent.sock";
  node.options.entry.timeout_ms = 250;
  REQUIRE(install(node.options));
  auto installed = nlohmann::ordered_json::parse(slurp(path));
  CHECK(installed["plugins"].back() ==
        nlohmann::ordered_json::parse(
            R"({"type":"weft-cni","agentSocket":"/run/custom/agent.sock","timeoutMs":250})"));
  // A second install is a no-op.
  auto text = slurp(path);
  REQUIRE(install(node.options));
  CHECK(slurp(path) == text);
  REQUIRE(uninstall(node.options));
  CHECK(nlohmann::ordered_json::parse(slurp(path)) ==
        nlohmann::ordered_json::parse(slurp(kTestdata / "fresh_install.conflist")));
  // Uninstalling twice is fine, and so is an empty directory.
  REQUIRE(uninstall(node.options));
  fs::remove(path);
  CHECK(uninstall(node.options));
}

TEST_CASE("installer: the primary config is the lexicographically first config file") {
  InstallerNode node;
  const auto& dir = node.options.conf_dir;
  for (auto name : {"10-b.conf", "05-a.json", "20-c.conflist", "00-readme.txt", ".hidden.bak"}) {
    spit(dir / name, "{}");
  }
  fs::create_directory(dir / "01-dir.conf");
  auto primary = find_primary_config(dir);
  REQUIRE(primary);
  CHECK(primary->filename() == "05-a.json");
  fs::remove(dir / "05-a.json");
  CHECK(find_primary_config(dir)->filename() == "10-b.conf");
  auto missing = find_primary_config(node.root.path() / "nope");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().kind == weft::Error::Kind::NotFound);
}

TEST_CASE("installer: install waits for the primary config to appear") {
  InstallerNode node;
  node.options.wait_seconds = 10;
  auto path = node.options.conf_dir / "10-kind.conflist";
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    // CHECK, not REQUIRE: an exception must not escape this thread.
    CHECK(write_file_atomically(path, slurp(kTestdata / "fresh_install.conflist"), 0644));
  });
  auto start = std::chrono::steady_clock::now();
  auto result = install(node.options);
  writer.join();
  REQUIRE_MESSAGE(result, (result ? "" : result.error().message));
  CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(700));
  CHECK(slurp(path) == slurp(kTestdata / "fresh_install.golden"));
}

TEST_CASE("installer: plan_install rejects configs it cannot chain into") {
  struct Case {
    const char* text;
    const char* reason;
  };
  for (auto c : {
           Case{R"([1])", "not a JSON object"},
           Case{R"({"cniVersion":"1.0.0","name":"n"})", "neither a conflist"},
           Case{R"({"cniVersion":"1.0.0","plugins":{}})", "\"plugins\" is not an array"},
           Case{R"({"cniVersion":"1.0.0","plugins":[{"ipam":{}}]})", "no string \"type\""},
           Case{R"({"cniVersion":"1.0.0","plugins":[]})", "no plugin for weft-cni to chain after"},
           Case{R"({"cniVersion":"1.0.0","plugins":[{"type":"weft-cni"}]})", "no plugin"},
           Case{R"({"name":"n","plugins":[{"type":"bridge"}]})", "no string \"cniVersion\""},
           Case{R"({"cniVersion":"1.1.0","plugins":[{"type":"bridge"}]})", "not supported"},
       }) {
    CAPTURE(c.text);
    auto edit = plan_install("10-x.conflist", c.text, WeftEntry{});
    REQUIRE_FALSE(edit);
    CHECK(edit.error().message.find(c.reason) != std::string::npos);
  }
}
