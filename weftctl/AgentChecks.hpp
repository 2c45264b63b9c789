// `weftctl check`'s view of the agents, each read once through its admin address: /metrics
// (reachable; its version, clock and workload certificates come from there) and /ready. The
// reads are probe_agent(); the checks over them are pure, so tests feed them made-up probes.
#pragma once

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/Error.hpp"
#include "weftctl/CheckResults.hpp"
#include "weftctl/MetricsText.hpp"

namespace weft::weftctl {

/// One agent as read through its admin address.
struct AgentProbe {
  std::string address;                         ///< host:port, as given to --agents
  Result<std::vector<MetricSample>> metrics;   ///< GET /metrics, parsed
  Result<void> ready;                          ///< GET /ready answered 200
  std::chrono::system_clock::time_point sent;  ///< this machine's clock around the /metrics GET
  std::chrono::system_clock::time_point answered;
};

/// Agents' and weftctl's clocks farther apart than this are a warning (NTP is off somewhere)...
inline constexpr std::chrono::seconds kClockSkewWarning{10};
/// ...and farther than this an error: workload certificates start LocalIssuer::kClockSkew (60 s)
/// before they are signed, so a peer further behind refuses new ones as not yet valid.
inline constexpr std::chrono::seconds kClockSkewError{60};

/// GETs `address`'s /metrics then /ready (5 s each); /ready only when /metrics answered.
AgentProbe probe_agent(const std::string& address);

/// How far the agent's clock (weft_agent_time_seconds) is from this machine's, in seconds, less
/// the time its answer took (the clock was read somewhere between `sent` and `answered`):
/// 0 when it fits in between. Nothing when the agent was not read or has no such gauge.
std::optional<double> clock_offset(const AgentProbe& probe);

/// Category "weft-agents": reachable, ready, versions (weft_build_info) equal to `own_version`
/// and to each other (a warning otherwise: normal mid-rollout, not for long), clocks in sync.
std::vector<CheckResult> agent_checks(std::span<const AgentProbe> probes,
                                      const std::string& own_version);

/// Category "weft-identity": no agent's workload certificate
/// (weft_identity_certificate_expiry_timestamp_seconds) has expired at `now` (an error), and no
/// agent failed to renew one (weft_identity_certificate_renewals_total{result="error"}, a
/// warning: it keeps the old certificate and retries).
CheckResult workload_certificate_check(std::span<const AgentProbe> probes,
                                       std::chrono::system_clock::time_point now);

}  // namespace weft::weftctl
