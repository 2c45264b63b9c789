#include "weftctl/AgentChecks.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "weftctl/CertificateChecks.hpp"
#include "weftctl/HttpGet.hpp"

namespace weft::weftctl {
namespace {

using std::chrono::system_clock;

constexpr const char* kAgents = "weft-agents";
constexpr auto kTimeout = std::chrono::seconds(5);

const MetricSample* find_sample(const std::vector<MetricSample>& samples, std::string_view name) {
  auto it = std::ranges::find_if(samples, [&](const MetricSample& s) { return s.name == name; });
  return it != samples.end() ? &*it : nullptr;
}

std::vector<const AgentProbe*> reachable(std::span<const AgentProbe> probes) {
  std::vector<const AgentProbe*> out;
  for (const AgentProbe& p : probes) {
    if (p.metrics) {
      out.push_back(&p);
    }
  }
  return out;
}

std::string lines(const std::vector<std::string>& items) {
  return fmt::format("{}", fmt::join(items, "\n"));
}

std::string agent_count(std::size_t n) {
  return fmt::format("{} agent{}", n, n == 1 ? "" : "s");
}

CheckResult reachable_check(std::span<const AgentProbe> probes) {
  CheckResult r{.category = kAgents, .check = "the agents serve their admin endpoint"};
  std::vector<std::string> failed;
  std::vector<std::string> ok;
  for (const AgentProbe& p : probes) {
    if (p.metrics) {
      ok.push_back(p.address);
    } else {
      failed.push_back(fmt::format("{}: {}", p.address, p.metrics.error().message));
    }
  }
  r.detail = fmt::format("{}: {}", agent_count(ok.size()), fmt::join(ok, ", "));
  if (!failed.empty()) {
    r.status = CheckStatus::Error;
    r.detail = lines(failed);
    r.hint =
        "is the agent running there (its log; in a cluster: kubectl -n weft-system get pods -o "
        "wide), and is that its admin_address (port 15020 by default)?";
  }
  return r;
}

CheckResult ready_check(const std::vector<const AgentProbe*>& probes) {
  CheckResult r{.category = kAgents, .check = "the agents are ready"};
  std::vector<std::string> failed;
  for (const AgentProbe* p : probes) {
    if (!p->ready) {
      failed.push_back(fmt::format("{}: {}", p->address, p->ready.error().message));
    }
  }
  r.detail = fmt::format("{} answer /ready with 200", agent_count(probes.size()));
  if (!failed.empty()) {
    r.status = CheckStatus::Error;
    r.detail = lines(failed);
    r.hint =
        "an agent is ready once its hooks, workers and pods are set up and its discovery source "
        "(manifests dir or Kubernetes API) has synced; one handing over to its successor no "
        "longer is. Its log says which (agent.ready, discovery.*)";
  }
  return r;
}

CheckResult version_check(const std::vector<const AgentProbe*>& probes,
                          const std::string& own_version) {
  CheckResult r{.category = kAgents, .check = "the agents run weftctl's version"};
  std::map<std::string, std::vector<std::string>> by_version;
  for (const AgentProbe* p : probes) {
    const MetricSample* info = find_sample(*p->metrics, "weft_build_info");
    by_version[info != nullptr ? std::string(info->label("version")) : ""].push_back(p->address);
  }
  if (by_version.size() == 1 && by_version.begin()->first == own_version) {
    r.detail = fmt::format("{} on {}", own_version, agent_count(probes.size()));
    return r;
  }
  std::vector<std::string> found{fmt::format("weftctl is {}", own_version)};
  for (const auto& [version, addresses] : by_version) {
    found.push_back(fmt::format(
        "{}: {}", version.empty() ? "no weft_build_info (older than weft 0.1.0)" : version,
        fmt::join(addresses, ", ")));
  }
  r.status = CheckStatus::Warning;
  r.detail = lines(found);
  r.hint = by_version.size() > 1
               ? "the agents differ: normal while a rollout replaces them (kubectl -n "
                 "weft-system rollout status ds/weft-agent), not for long"
               : "use the weftctl of the agents' release, whose checks and figures match theirs";
  return r;
}

std::string signed_seconds(double offset) {
  return offset >= 0 ? fmt::format("{:.1f} s ahead of", offset)
                     : fmt::format("{:.1f} s behind", -offset);
}

CheckResult clock_check(const std::vector<const AgentProbe*>& probes) {
  CheckResult r{.category = kAgents, .check = "the agents' clocks agree with this machine's"};
  double low = 0;
  double high = 0;
  std::vector<std::string> off;
  std::vector<std::string> unknown;
  for (const AgentProbe* p : probes) {
    auto offset = clock_offset(*p);
    if (!offset) {
      unknown.push_back(p->address);
      continue;
    }
    low = std::min(low, *offset);
    high = std::max(high, *offset);
    if (std::abs(*offset) > static_cast<double>(kClockSkewWarning.count())) {
      off.push_back(fmt::format("{} is {} this machine", p->address, signed_seconds(*offset)));
    }
  }
  double spread = high - low;
  if (!unknown.empty()) {
    off.push_back(fmt::format("no weft_agent_time_seconds (older than weft 0.1.0): {}",
                              fmt::join(unknown, ", ")));
  }
  r.detail = off.empty() ? fmt::format("{} within {:.1f} s of this machine's clock",
                                       agent_count(probes.size()), spread)
                         : lines(off);
  if (spread > static_cast<double>(kClockSkewError.count())) {
    r.status = CheckStatus::Error;
  } else if (spread > static_cast<double>(kClockSkewWarning.count()) || !unknown.empty()) {
    r.status = CheckStatus::Warning;
  }
  if (r.status != CheckStatus::Ok) {
    r.detail += fmt::format("\nclocks {:.1f} s apart: over {} s warns, over {} s fails", spread,
                            kClockSkewWarning.count(), kClockSkewError.count());
    r.hint =
        "keep every node's clock synchronised (chrony, systemd-timesyncd; timedatectl says "
        "whether it is): workload certificates start 60 s before they are signed, so a node "
        "further behind refuses them";
  }
  return r;
}

}  // namespace

AgentProbe probe_agent(const std::string& address) {
  AgentProbe p;
  p.address = address;
  p.sent = system_clock::now();
  auto body = http_get("http://" + address + "/metrics", kTimeout);
  p.answered = system_clock::now();
  if (!body) {
    p.metrics = std::unexpected(body.error());
    p.ready = std::unexpected(body.error());
    return p;
  }
  p.metrics = parse_metrics_text(*body);
  if (!p.metrics) {
    p.metrics.error().message = "/metrics " + p.metrics.error().message;
  }
  auto ready = http_get("http://" + address + "/ready", kTimeout);
  if (!ready) {
    p.ready = std::unexpected(ready.error());
  }
  return p;
}

std::optional<double> clock_offset(const AgentProbe& probe) {
  const MetricSample* clock =
      probe.metrics ? find_sample(*probe.metrics, "weft_agent_time_seconds") : nullptr;
  if (clock == nullptr || !std::isfinite(clock->value)) {
    return std::nullopt;
  }
  auto unix = [](system_clock::time_point t) {
    return std::chrono::duration<double>(t.time_since_epoch()).count();
  };
  double sent = unix(probe.sent);
  double answered = unix(probe.answered);
  return clock->value < sent       ? clock->value - sent
         : clock->value > answered ? clock->value - answered
                                   : 0.0;
}

std::vector<CheckResult> agent_checks(std::span<const AgentProbe> probes,
                                      const std::string& own_version) {
  std::vector<CheckResult> out{reachable_check(probes)};
  auto read = reachable(probes);
  if (!read.empty()) {
    out.push_back(ready_check(read));
    out.push_back(version_check(read, own_version));
    out.push_back(clock_check(read));
  }
  return out;
}

CheckResult workload_certificate_check(std::span<const AgentProbe> probes,
                                       system_clock::time_point now) {
  CheckResult r{.category = "weft-identity",
                .check = "the agents' workload certificates are valid"};
  std::vector<std::string> expired;
  std::vector<std::string> renewals;
  std::size_t count = 0;
  std::optional<double> soonest;
  double now_s = std::chrono::duration<double>(now.time_since_epoch()).count();
  for (const AgentProbe* p : reachable(probes)) {
    double failed_renewals = 0;
    for (const MetricSample& s : *p->metrics) {
      if (s.name == "weft_identity_certificate_renewals_total" && s.label("result") == "error") {
        failed_renewals += s.value;
      }
      if (s.name != "weft_identity_certificate_expiry_timestamp_seconds") {
        continue;
      }
      ++count;
      soonest = std::min(soonest.value_or(s.value), s.value);
      if (s.value <= now_s) {
        auto not_after =
            system_clock::time_point(std::chrono::duration_cast<system_clock::duration>(
                std::chrono::duration<double>(s.value)));
        expired.push_back(fmt::format("{}: {} {}", p->address, s.label("principal"),
                                      expiry_text(not_after, now)));
      }
    }
    if (failed_renewals > 0) {
      renewals.push_back(
          fmt::format("{}: {} failed renewals since it started", p->address, failed_renewals));
    }
  }
  if (!expired.empty()) {
    r.status = CheckStatus::Error;
    r.detail = lines(expired);
    r.hint =
        "peers refuse an expired certificate: the agent renews each at 40-60% of its life and "
        "retries a failed renewal; its log (identity.issue_failed) says why the issuer refused. "
        "Is the issuer itself expired?";
  } else if (!renewals.empty()) {
    r.status = CheckStatus::Warning;
    r.detail = lines(renewals);
    r.hint =
        "a failed renewal keeps the old certificate and is retried; the agent's log "
        "(identity.issue_failed) says why the issuer refused";
  } else if (soonest) {
    auto at = system_clock::time_point(std::chrono::duration_cast<system_clock::duration>(
        std::chrono::duration<double>(*soonest)));
    r.detail = fmt::format("{} certificates; the soonest {}", count, expiry_text(at, now));
  } else {
    r.detail = "no meshed workload yet";
  }
  return r;
}

}  // namespace weft::weftctl
