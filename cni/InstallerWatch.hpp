// `weft-cni install --watch`: the DaemonSet's installer container keeps the node chained for as
// long as it runs, whatever the node's primary CNI does to its own config.
#pragma once

#include "cni/Installer.hpp"
#include "common/Error.hpp"

namespace weft::cni {

/// Keeps the node chained after install(): whenever the config dir or the bin dir changes (the
/// primary CNI rewrites, replaces, renames or converts its config; someone removes our binary),
/// puts back what is missing once the dir has been quiet for a moment: the binary, and our
/// entry in the file the runtime uses. Never duplicates the entry (plan_install replaces ours
/// in place, an unchanged file is not rewritten, so our own writes settle). A config that is
/// missing or unusable (half written) is retried until it works.
///
/// Returns when `stop_fd` becomes readable (main: a signalfd for SIGTERM and SIGINT), leaving
/// the entry in place: while the DaemonSet still wants the node, new pods wait for the agent
/// instead of starting unmeshed. An error only if the dirs cannot be watched.
Result<void> keep_installed(const InstallerOptions& options, int stop_fd);

}  // namespace weft::cni
