#include "agent/discovery/ManifestDir.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace weft::discovery {
namespace {

namespace fs = std::filesystem;

/// A fresh directory under /tmp, removed with everything in it when the test ends.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "weft-manifests-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void write_file(const fs::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  REQUIRE(out.good());
}

/// Writes next to `path` and renames over it, as tools that replace files atomically do.
void replace_file(const fs::path& path, std::string_view text) {
  fs::path tmp = path.parent_path() / ("." + path.filename().string() + ".tmp");
  write_file(tmp, text);
  fs::rename(tmp, path);
}

/// Waits for the inotify fd to be readable, then processes events like the agent's loop does.
bool pump(ManifestDir& dir) {
  pollfd pfd{dir.fd(), POLLIN, 0};
  REQUIRE_MESSAGE(::poll(&pfd, 1, 2000) == 1, "no inotify event within 2 s");
  return dir.process_events();
}

std::string service(std::string_view name, std::string_view ip, int port) {
  return "apiVersion: v1\nkind: Service\nmetadata: {name: " + std::string(name) +
         ", namespace: demo}\nspec: {clusterIP: " + std::string(ip) +
         ", ports: [{port: " + std::to_string(port) + "}]}\n";
}

Resolution::Kind kind_at(const ManifestDir& dir, std::string_view ip, uint16_t port) {
  return dir.world()->resolve(SockAddr{*IpAddr::parse(ip), port}).kind;
}

TEST_CASE("ManifestDir creates a missing directory and loads what is there") {
  TempDir tmp;
  fs::path path = tmp.path() / "nested" / "manifests";
  auto dir = ManifestDir::open(path.string());
  REQUIRE(dir.has_value());
  CHECK(fs::is_directory(path));
  CHECK(dir->world() != nullptr);
  CHECK(dir->world()->service_count() == 0);
  CHECK(dir->generation() == 1);
  CHECK(dir->errors().empty());
  CHECK(dir->fd() >= 0);
  CHECK_FALSE(dir->process_events());  // nothing happened
}

TEST_CASE("ManifestDir open fails on a path that is a file") {
  TempDir tmp;
  write_file(tmp.path() / "file", "x");
  auto dir = ManifestDir::open((tmp.path() / "file").string());
  REQUIRE_FALSE(dir.has_value());
  CHECK(dir.error().kind == Error::Kind::System);
}

TEST_CASE("ManifestDir follows files being added, broken, fixed and deleted") {
  TempDir tmp;
  write_file(tmp.path() / "a.yaml", service("a", "10.96.0.1", 80));
  auto opened = ManifestDir::open(tmp.path().string());
  REQUIRE(opened.has_value());
  ManifestDir& dir = *opened;
  CHECK(kind_at(dir, "10.96.0.1", 80) == Resolution::Kind::Service);

  // Add a file: the World changes.
  auto before = dir.world();
  write_file(tmp.path() / "b.yml", service("b", "10.96.0.2", 81));
  CHECK(pump(dir));
  CHECK(dir.generation() == 2);
  CHECK(dir.world() != before);
  CHECK(before->service_count() == 1);  // old snapshots stay valid and unchanged
  CHECK(dir.world()->service_count() == 2);
  CHECK(kind_at(dir, "10.96.0.2", 81) == Resolution::Kind::Service);

  // Break b.yml in place: rejected with its reason, its previous objects stay in force.
  write_file(tmp.path() / "b.yml", service("b", "10.96.0.2", 81) + "  extra: [\n");
  CHECK_FALSE(pump(dir));
  CHECK(dir.generation() == 2);
  REQUIRE(dir.errors().size() == 1);
  CHECK(dir.errors()[0].file == "b.yml");
  CHECK(dir.errors()[0].reason.starts_with("invalid YAML at line"));
  CHECK(kind_at(dir, "10.96.0.2", 81) == Resolution::Kind::Service);

  // A semantic error, replaced atomically: still the previous objects, new reason.
  replace_file(tmp.path() / "b.yml", service("b", "10.96.0.2", 0));
  CHECK_FALSE(pump(dir));
  REQUIRE(dir.errors().size() == 1);
  CHECK(dir.errors()[0].reason ==
        "document 1 (Service demo/b): spec.ports[0].port: expected an integer 1-65535, got 0");
  CHECK(kind_at(dir, "10.96.0.2", 81) == Resolution::Kind::Service);

  // Fix it with different content: the new state replaces the old.
  replace_file(tmp.path() / "b.yml", service("b", "10.96.0.3", 82));
  CHECK(pump(dir));
  CHECK(dir.errors().empty());
  CHECK(kind_at(dir, "10.96.0.2", 81) == Resolution::Kind::Passthrough);
  CHECK(kind_at(dir, "10.96.0.3", 82) == Resolution::Kind::Service);

  // Delete it: its objects are gone, a.yaml's remain.
  fs::remove(tmp.path() / "b.yml");
  CHECK(pump(dir));
  CHECK(kind_at(dir, "10.96.0.3", 82) == Resolution::Kind::Passthrough);
  CHECK(kind_at(dir, "10.96.0.1", 80) == Resolution::Kind::Service);
  CHECK(dir.world()->service_count() == 1);

  // A file that was never good and is deleted clears its error.
  write_file(tmp.path() / "c.json", "{not json");
  CHECK_FALSE(pump(dir));
  CHECK(dir.errors().size() == 1);
  fs::remove(tmp.path() / "c.json");
  dir.process_events();
  CHECK(dir.errors().empty());
}

TEST_CASE("ManifestDir ignores dotfiles, editor files and other extensions") {
  TempDir tmp;
  auto opened = ManifestDir::open(tmp.path().string());
  REQUIRE(opened.has_value());
  ManifestDir& dir = *opened;
  const char* ignored[] = {".a.yaml", "a.yaml~", "a.yaml.swp", "notes.txt", "4913", "#a.yaml#"};
  for (const char* name : ignored) {
    write_file(tmp.path() / name, "{broken");
  }
  CHECK_FALSE(pump(dir));
  CHECK(dir.errors().empty());
  CHECK(dir.generation() == 1);

  CHECK(is_manifest_name("svc.yaml"));
  CHECK(is_manifest_name("svc.yml"));
  CHECK(is_manifest_name("svc.json"));
  for (const char* name : ignored) {
    CHECK_FALSE(is_manifest_name(name));
  }
}

TEST_CASE("ManifestDir follows a ConfigMap-style ..data symlink swap") {
  TempDir tmp;
  fs::create_directory(tmp.path() / "..v1");
  write_file(tmp.path() / "..v1" / "svc.yaml", service("a", "10.96.0.1", 80));
  fs::create_directory_symlink("..v1", tmp.path() / "..data");
  fs::create_symlink("..data/svc.yaml", tmp.path() / "svc.yaml");
  auto opened = ManifestDir::open(tmp.path().string());
  REQUIRE(opened.has_value());
  ManifestDir& dir = *opened;
  CHECK(kind_at(dir, "10.96.0.1", 80) == Resolution::Kind::Service);

  // The kubelet writes the new version beside the old and renames a new ..data symlink over it.
  fs::create_directory(tmp.path() / "..v2");
  write_file(tmp.path() / "..v2" / "svc.yaml", service("a", "10.96.0.5", 80));
  fs::create_directory_symlink("..v2", tmp.path() / "..data_tmp");
  fs::rename(tmp.path() / "..data_tmp", tmp.path() / "..data");
  CHECK(pump(dir));
  CHECK(kind_at(dir, "10.96.0.1", 80) == Resolution::Kind::Passthrough);
  CHECK(kind_at(dir, "10.96.0.5", 80) == Resolution::Kind::Service);
}

TEST_CASE("ManifestDir rejects non-regular and oversized files without blocking") {
  TempDir tmp;
  DecodeLimits limits;
  limits.max_bytes = 64;
  auto opened = ManifestDir::open(tmp.path().string(), limits);
  REQUIRE(opened.has_value());
  ManifestDir& dir = *opened;
  write_file(tmp.path() / "big.yaml", std::string(100, '#'));
  CHECK_FALSE(pump(dir));
  REQUIRE(dir.errors().size() == 1);
  CHECK(dir.errors()[0].reason == "100 bytes is more than the limit of 64 bytes");
  // A FIFO is skipped by the listing; opening it would block.
  REQUIRE(::mkfifo((tmp.path() / "fifo.yaml").c_str(), 0600) == 0);
  CHECK_FALSE(pump(dir));
  CHECK(dir.errors().size() == 1);
}

TEST_CASE("ManifestDir reads at most kMaxFiles files, the first by name") {
  TempDir tmp;
  auto name = [](std::size_t i) { return fmt::format("f{:04}.yaml", i); };
  for (std::size_t i = 0; i <= ManifestDir::kMaxFiles; ++i) {
    write_file(tmp.path() / name(i),
               service(fmt::format("s{}", i), fmt::format("10.96.{}.{}", i / 200, i % 200), 80));
  }
  auto opened = ManifestDir::open(tmp.path().string());
  REQUIRE(opened.has_value());
  ManifestDir& dir = *opened;
  CHECK(dir.world()->service_count() == ManifestDir::kMaxFiles);
  REQUIRE(dir.errors().size() == 1);
  CHECK(dir.errors()[0].file == name(ManifestDir::kMaxFiles));
  // Removing one file brings the last one under the limit.
  fs::remove(tmp.path() / name(0));
  CHECK(pump(dir));
  CHECK(dir.errors().empty());
  CHECK(dir.world()->service_count() == ManifestDir::kMaxFiles);
  CHECK(dir.world()->service_by_name("demo", fmt::format("s{}", ManifestDir::kMaxFiles)) !=
        nullptr);
}

TEST_CASE("ManifestDir survives its directory being deleted and re-created") {
  TempDir tmp;
  fs::path path = tmp.path() / "m";
  auto opened = ManifestDir::open(path.string());
  REQUIRE(opened.has_value());
  ManifestDir& dir = *opened;
  write_file(path / "a.yaml", service("a", "10.96.0.1", 80));
  CHECK(pump(dir));
  fs::remove_all(path);
  CHECK(pump(dir));
  CHECK(dir.world()->service_count() == 0);
  CHECK(fs::is_directory(path));  // re-created and watched again
  write_file(path / "a.yaml", service("a", "10.96.0.1", 80));
  CHECK(pump(dir));
  CHECK(kind_at(dir, "10.96.0.1", 80) == Resolution::Kind::Service);
}

TEST_CASE("ManifestDir can be moved, as the agent stores it") {
  TempDir tmp;
  auto opened = ManifestDir::open(tmp.path().string());
  REQUIRE(opened.has_value());
  ManifestDir moved(std::move(*opened));
  write_file(tmp.path() / "a.yaml", service("a", "10.96.0.1", 80));
  CHECK(pump(moved));
  CHECK(moved.world()->service_count() == 1);
}

}  // namespace
}  // namespace weft::discovery
