// File descriptors: refusals for want of one (weft_fd_exhaustion_total), and the process's open
// and maximum counts (process_open_fds, process_max_fds, as Prometheus' client libraries name
// them).
#pragma once

#include <prometheus/counter.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

#include <array>

#include "common/Error.hpp"

namespace weft::agent {

/// Where the agent needed a file descriptor and got EMFILE or ENFILE.
enum class FdOperation {
  Accept,    ///< a connection from a pod or another agent stayed in its listen queue
  Upstream,  ///< a socket towards an app, an endpoint or another agent
  PodMesh,   ///< a pod's listeners, netns or routes: its CNI ADD failed
};

/// Whether `error` is the process (EMFILE) or the kernel as a whole (ENFILE) out of descriptors.
bool fd_exhausted(const Error& error);
bool fd_exhausted_errno(int err);

/// Every series is created up front, so counting is an atomic add.
class FdMetrics {
 public:
  explicit FdMetrics(prometheus::Registry& registry);
  void exhausted(FdOperation operation);
  /// process_open_fds and process_max_fds, read from /proc/self at scrape time.
  static std::array<prometheus::MetricFamily, 2> collect();

 private:
  std::array<prometheus::Counter*, 3> exhausted_{};
};

}  // namespace weft::agent
