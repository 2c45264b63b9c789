// `weftctl check --prometheus URL`: the server answers /-/ready, and its `up` series say it
// scrapes every agent named with --agents (matched by the target's instance, host:port) and
// that each scrape works.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "weftctl/CheckResults.hpp"
#include "weftctl/MetricsText.hpp"

namespace weft::weftctl {

/// Category "prometheus": ready, then the targets (only when ready).
std::vector<CheckResult> prometheus_checks(const std::string& base,
                                           std::span<const std::string> agents);

/// The targets check over the answer to `up`: an error when an agent's target (or any target
/// of a job whose name has "weft" in it) is down, a warning when an agent is no target at all.
CheckResult targets_check(std::span<const MetricSample> up, std::span<const std::string> agents);

}  // namespace weft::weftctl
