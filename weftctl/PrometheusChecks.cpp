#include "weftctl/PrometheusChecks.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>

#include "weftctl/HttpGet.hpp"
#include "weftctl/PrometheusApi.hpp"

namespace weft::weftctl {
namespace {

constexpr const char* kCategory = "prometheus";
constexpr const char* kTargets = "Prometheus scrapes every agent";

}  // namespace

CheckResult targets_check(std::span<const MetricSample> up, std::span<const std::string> agents) {
  CheckResult r{.category = kCategory, .check = kTargets};
  std::vector<std::string> down;
  std::vector<std::string> missing;
  for (const std::string& agent : agents) {
    auto it = std::ranges::find_if(
        up, [&](const MetricSample& s) { return s.label("instance") == agent; });
    if (it == up.end()) {
      missing.push_back(agent);
    }
  }
  for (const MetricSample& s : up) {
    bool ours = std::ranges::find(agents, s.label("instance")) != agents.end() ||
                s.label("job").find("weft") != std::string_view::npos;
    if (ours && s.value != 1) {
      down.push_back(fmt::format("{} (job {}) is down", s.label("instance"), s.label("job")));
    }
  }
  if (!down.empty()) {
    r.status = CheckStatus::Error;
    r.detail = fmt::format("{}", fmt::join(down, "\n"));
    r.hint =
        "its last scrape failed: the server's Status > Targets page says why (is the agent "
        "running, and reachable from the server at that address?)";
  } else if (!missing.empty()) {
    r.status = CheckStatus::Warning;
    r.detail = fmt::format("no target for {}", fmt::join(missing, ", "));
    r.hint =
        "list every agent's admin address in its scrape config "
        "(manifests/monitoring/prometheus.yml) or apply the PodMonitor (kubectl apply -k "
        "manifests/monitoring/); instances are matched as --agents names them";
  } else {
    r.detail = fmt::format("{} agent target{} up", agents.size(), agents.size() == 1 ? "" : "s");
  }
  return r;
}

std::vector<CheckResult> prometheus_checks(const std::string& base,
                                           std::span<const std::string> agents) {
  std::vector<CheckResult> out;
  CheckResult ready{.category = kCategory, .check = "Prometheus is ready", .detail = base};
  if (auto ok = http_get(base + "/-/ready", std::chrono::seconds(5)); !ok) {
    ready.status = CheckStatus::Error;
    ready.detail = ok.error().message;
    ready.hint = "is --prometheus the server's base URL (http://HOST:9090), and is it running?";
    out.push_back(std::move(ready));
    return out;
  }
  out.push_back(std::move(ready));
  auto up = prometheus_query(base, "up");
  if (!up) {
    out.push_back({kCategory, kTargets, CheckStatus::Error, up.error().message,
                   "the server answers /-/ready but not /api/v1/query: is it Prometheus?"});
    return out;
  }
  out.push_back(targets_check(*up, agents));
  return out;
}

}  // namespace weft::weftctl
