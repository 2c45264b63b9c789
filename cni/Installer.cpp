#include "cni/Installer.hpp"

#include <fmt/format.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <system_error>
#include <vector>

#include "cni/BoundedJson.hpp"
#include "common/AtomicFile.hpp"
#include "common/Log.hpp"

namespace weft::cni {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// The primary CNI's own installer may still be writing its config (often non-atomically),
// so a missing or unreadable primary is retried at this pace until the wait runs out.
constexpr int kRetryMs = 500;

bool is_config_name(const fs::path& path) {
  auto ext = path.extension();
  return ext == ".conflist" || ext == ".conf" || ext == ".json";
}

/// One attempt at the primary config: its path and an edit of it.
struct Attempt {
  fs::path path;
  ConfigEdit edit;
};

template <class Plan>
Result<Attempt> try_once(const InstallerOptions& options, Plan&& plan) {
  auto primary = find_primary_config(options.conf_dir);
  if (!primary) {
    return std::unexpected(primary.error());
  }
  auto text = read_file(*primary, kMaxJsonBytes);
  if (!text) {
    return fail(Error::Kind::Config, fmt::format("primary CNI config {} is unusable: {}",
                                                 primary->string(), text.error().message));
  }
  auto edit = plan(primary->filename().string(), *text);
  if (!edit) {
    return fail(Error::Kind::Config, fmt::format("primary CNI config {} is unusable: {}",
                                                 primary->string(), edit.error().message));
  }
  return Attempt{*primary, std::move(*edit)};
}

/// Retries `plan` on the primary config until it works or `wait_seconds` pass.
template <class Plan>
Result<Attempt> with_retries(const InstallerOptions& options, int wait_seconds, Plan&& plan) {
  auto deadline = Clock::now() + std::chrono::seconds(wait_seconds);
  bool logged = false;
  for (;;) {
    auto attempt = try_once(options, plan);
    if (attempt || Clock::now() >= deadline) {
      return attempt;
    }
    if (!logged) {
      log::info("waiting_for_primary_config", "dir={} wait_s={} reason=\"{}\"",
                options.conf_dir.string(), wait_seconds, attempt.error().message);
      logged = true;
    }
    ::poll(nullptr, 0, kRetryMs);
  }
}

Result<void> apply(const Attempt& attempt, std::string_view action) {
  const auto& edit = attempt.edit;
  auto target = attempt.path.parent_path() / edit.file_name;
  if (!edit.changed) {
    log::info("cni_config_unchanged", "file={} action={}", target.string(), action);
    return {};
  }
  if (auto ok = write_file_atomically(target, edit.content, 0644); !ok) {
    return ok;
  }
  if (target != attempt.path) {
    // The converted .conf would still sort first and keep the runtime on the unchained config.
    std::error_code ec;
    fs::remove(attempt.path, ec);
    if (ec) {
      return fail(Error::Kind::System,
                  fmt::format("remove {} after converting it to {}: {}", attempt.path.string(),
                              target.string(), ec.message()));
    }
  }
  log::info("cni_config_written", "file={} action={} from={}", target.string(), action,
            attempt.path.filename().string());
  return {};
}

}  // namespace

Result<fs::path> find_primary_config(const fs::path& dir) {
  std::error_code ec;
  std::vector<fs::path> candidates;
  fs::directory_iterator it(dir, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return fail(Error::Kind::System, fmt::format("list {}: {}", dir.string(), ec.message()));
  }
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    // is_regular_file follows symlinks, as the runtimes do.
    if (is_config_name(it->path()) && fs::is_regular_file(it->path(), ec)) {
      candidates.push_back(it->path());
    }
    ec.clear();
  }
  if (candidates.empty()) {
    return fail(
        Error::Kind::NotFound,
        fmt::format("no CNI network config (*.conflist, *.conf, *.json) in {}", dir.string()));
  }
  // Byte order on the file name, as Go's sort.Strings in libcni.
  return *std::min_element(candidates.begin(), candidates.end(),
                           [](const fs::path& a, const fs::path& b) {
                             return a.filename().string() < b.filename().string();
                           });
}

Result<void> install_binary(const InstallerOptions& options) {
  std::error_code ec;
  fs::create_directories(options.bin_dir, ec);
  if (ec) {
    return fail(Error::Kind::System,
                fmt::format("create {}: {}", options.bin_dir.string(), ec.message()));
  }
  auto binary = options.bin_dir / std::string(kPluginType);
  if (auto ok = copy_file_atomically(options.self_exe, binary, 0755); !ok) {
    return ok;
  }
  log::info("cni_binary_installed", "path={}", binary.string());
  return {};
}

Result<void> chain_once(const InstallerOptions& options) {
  auto attempt = try_once(options, [&](std::string_view name, std::string_view text) {
    return plan_install(name, text, options.entry);
  });
  if (!attempt) {
    return std::unexpected(attempt.error());
  }
  return apply(*attempt, "install");
}

Result<void> install(const InstallerOptions& options) {
  if (auto ok = install_binary(options); !ok) {
    return ok;
  }
  auto attempt = with_retries(options, options.wait_seconds,
                              [&](std::string_view name, std::string_view text) {
                                return plan_install(name, text, options.entry);
                              });
  if (!attempt) {
    Error err = attempt.error();
    if (err.kind == Error::Kind::NotFound) {
      err.message = fmt::format(
          "{} after waiting {} s; weft-cni chains after the node's primary CNI plugin, which "
          "must be installed first",
          err.message, options.wait_seconds);
    }
    return std::unexpected(std::move(err));
  }
  return apply(*attempt, "install");
}

Result<void> uninstall(const InstallerOptions& options) {
  auto attempt = with_retries(options, 0, [](std::string_view name, std::string_view text) {
    return plan_uninstall(name, text);
  });
  if (!attempt) {
    if (attempt.error().kind == Error::Kind::NotFound) {
      log::info("cni_config_absent", "dir={} action=uninstall", options.conf_dir.string());
      return {};
    }
    return std::unexpected(attempt.error());
  }
  return apply(*attempt, "uninstall");
}

}  // namespace weft::cni
