// `weft-cni install|uninstall`: run by the DaemonSet's init container (or an operator) to put
// the plugin binary in the CNI bin dir and chain our entry into the node's primary CNI config.
#pragma once

#include <filesystem>
#include <string>

#include "cni/ConflistEdit.hpp"
#include "common/Error.hpp"

namespace weft::cni {

/// Where and what to install.
struct InstallerOptions {
  std::filesystem::path conf_dir = "/etc/cni/net.d";
  std::filesystem::path bin_dir = "/opt/cni/bin";
  WeftEntry entry;        ///< agentSocket and timeoutMs written into our entry
  int wait_seconds = 60;  ///< how long install waits for the primary config to appear
  bool watch = false;     ///< after installing, keep the node chained (keep_installed)
  /// The binary copied to <bin_dir>/weft-cni; the running executable by default.
  std::filesystem::path self_exe = "/proc/self/exe";
};

/// The file the runtime uses: the lexicographically first *.conflist, *.conf or *.json in
/// `dir` (libcni's ConfFiles + sort, as kubelet/containerd/CRI-O pick it). NotFound if none.
Result<std::filesystem::path> find_primary_config(const std::filesystem::path& dir);

/// Copies the running binary (options.self_exe) to <bin_dir>/weft-cni atomically.
Result<void> install_binary(const InstallerOptions& options);

/// One attempt at chaining our entry into the primary config (no waiting): NotFound when there
/// is none, Config when it is unusable (e.g. half written), written only if it changes.
Result<void> chain_once(const InstallerOptions& options);

/// Copies the binary to <bin_dir>/weft-cni first (the runtime must never see an entry whose
/// binary is missing), then waits up to wait_seconds for the primary config and chains our
/// entry into it (plan_install), writing atomically. A converted .conf/.json is replaced by
/// <stem>.conflist. Unchanged configs are not rewritten, so a rerun does not make the runtime
/// reload. Errors name the directory or file and say why.
Result<void> install(const InstallerOptions& options);

/// Removes our entry from the primary config. The binary stays: runtimes replay DEL from
/// their cached config for pods created while we were installed, and that needs it.
Result<void> uninstall(const InstallerOptions& options);

}  // namespace weft::cni
