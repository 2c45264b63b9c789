// A directory of Kubernetes manifests watched with inotify: the embedded source of the World.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "agent/discovery/ManifestDecoder.hpp"
#include "agent/discovery/Source.hpp"
#include "agent/discovery/World.hpp"
#include "common/Error.hpp"
#include "common/Fd.hpp"

namespace weft::discovery {

/// A manifest file whose latest version was rejected; its previous good version stays in force.
struct FileError {
  std::string file;    ///< name inside the directory
  std::string reason;  ///< the decoder's message without the file-name prefix
};

/// Watches one directory of `*.yaml`, `*.yml` and `*.json` files (dotfiles and editor backups
/// ignored; symlinks followed, so a mounted ConfigMap works) and keeps a World of the last good
/// decode of every file. Used from one thread (the control plane); the World it hands out may be
/// read from any thread.
class ManifestDir final : public Source {
 public:
  /// Opens `path` (created, with parents, when missing), loads every file and starts watching.
  /// Fails only when the directory cannot be created, read or watched; bad files are reported
  /// through errors() and the log.
  static Result<ManifestDir> open(std::string path, DecodeLimits limits = {});

  ManifestDir(ManifestDir&&) noexcept = default;
  ManifestDir& operator=(ManifestDir&&) noexcept = default;

  /// The inotify descriptor (non-blocking) to poll for POLLIN.
  int fd() const override { return inotify_.get(); }
  /// Drains pending inotify events and reloads what changed; never blocks. Returns true when the
  /// World changed (a new one is available from world()).
  bool process_events() override;
  /// The current snapshot; never null.
  std::shared_ptr<const World> world() const override { return world_; }
  /// Every file is read by open().
  bool synced() const override { return true; }
  /// Files currently rejected, by name.
  std::vector<FileError> errors() const;
  /// Incremented every time the World changes; starts at 1 after open().
  std::size_t generation() const { return generation_; }
  const std::string& path() const { return path_; }

  /// Most files read; more are rejected (bounds memory like DecodeLimits does per file).
  static constexpr std::size_t kMaxFiles = 1000;

 private:
  /// Identity and version of a file as stat(2) sees it through symlinks.
  struct Stamp {
    dev_t dev = 0;
    ino_t ino = 0;
    off_t size = 0;
    int64_t mtime_ns = 0;
    int64_t ctime_ns = 0;
    friend bool operator==(const Stamp&, const Stamp&) = default;
  };
  struct FileState {
    Stamp stamp;
    std::vector<Object> objects;  ///< last good decode (empty until one succeeds)
    std::string error;            ///< latest rejection; empty when the latest version is good
  };

  ManifestDir(std::string path, Fd inotify, DecodeLimits limits)
      : path_(std::move(path)), inotify_(std::move(inotify)), limits_(limits) {}

  Result<void> watch();
  /// Drops vanished files and reads new ones, the `dirty` ones, those whose stamp changed when
  /// `by_stamp`, and every one when `all`. Returns true when some file's objects changed.
  bool rescan(const std::set<std::string>& dirty, bool by_stamp, bool all);
  /// Reads and decodes one file into `state`; returns true when its objects changed.
  bool load(const std::string& name, const Stamp& stamp, FileState& state);
  void rebuild();

  std::string path_;
  Fd inotify_;
  int watch_ = -1;
  DecodeLimits limits_;
  std::map<std::string, FileState> files_;  ///< ordered by name: first file wins on duplicates
  std::shared_ptr<const World> world_;
  std::size_t generation_ = 0;
};

/// Whether `name` is a manifest: *.yaml, *.yml or *.json, not hidden ("." prefix, which also
/// covers vim swap files and Kubernetes' ..data), not an editor backup ("~" suffix).
bool is_manifest_name(std::string_view name);

}  // namespace weft::discovery
