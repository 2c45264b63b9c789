// What an agent says about itself at every scrape, for `weftctl check` and dashboards:
// weft_build_info{version="0.1.0"} 1 (the *_build_info convention of Prometheus' own exporters:
// which release each node runs, e.g. mid-rollout), and weft_agent_time_seconds, its wall clock
// when the scrape was answered (so a reader compares the nodes' clocks with its own: workload
// certificates start LocalIssuer::kClockSkew before they are signed, no earlier).
#pragma once

#include <prometheus/metric_family.h>

#include <array>

namespace weft::agent {

/// The two families, the clock read now; version is `weft-agent --version`'s.
std::array<prometheus::MetricFamily, 2> build_info_metrics();

}  // namespace weft::agent
