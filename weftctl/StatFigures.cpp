#include "weftctl/StatFigures.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <string_view>
#include <utility>

namespace weft::weftctl {
namespace {

constexpr std::string_view kRequests = "weft_requests_total";
constexpr std::string_view kBuckets = "weft_request_duration_seconds_bucket";
constexpr std::string_view kTcpOpen = "weft_tcp_connections_open";
constexpr std::string_view kSentBytes = "weft_tcp_sent_bytes_total";
constexpr std::string_view kReceivedBytes = "weft_tcp_received_bytes_total";
constexpr std::string_view kRetries = "weft_request_retries_total";
constexpr std::string_view kWorkloadPods = "weft_workload_pods";

constexpr std::string_view kCounters[] = {kRequests, kBuckets, kSentBytes, kReceivedBytes,
                                          kRetries};

/// Whether the row `key` of a namespace, workload or Service is one `sel` names.
bool in_selection(const StatSelection& sel, const std::pair<std::string, std::string>& key) {
  if (sel.kind == StatKind::Namespace) {
    return sel.name.empty() || key.first == sel.name;
  }
  return (sel.ns.empty() || key.first == sel.ns) && (sel.name.empty() || key.second == sel.name);
}

/// The (namespace, name) row a sample counts in, or none: the selection's reporter, kind and
/// filters decide.
std::optional<std::pair<std::string, std::string>> row_of(const StatSelection& sel,
                                                          const MetricSample& s) {
  bool by_client = sel.kind == StatKind::Service || sel.kind == StatKind::Route;
  if (s.label("reporter") != (by_client ? "source" : "destination")) {
    return std::nullopt;
  }
  if (!between_peers(sel, s)) {
    return std::nullopt;
  }
  auto found = stat_row_key(sel.kind, s, sel.to.has_value());
  if (!found) {
    return std::nullopt;
  }
  if (sel.kind == StatKind::Route) {
    // The route's rows are those of one Service: (its name, the route).
    return service_of(s.label("destination_service")) == std::pair{sel.ns, sel.name} ? found
                                                                                     : std::nullopt;
  }
  return in_selection(sel, *found) ? found : std::nullopt;
}

/// part / whole; none without a whole.
std::optional<double> share(double part, double whole) {
  return whole > 0 ? std::optional(part / whole) : std::nullopt;
}

bool succeeded(const MetricSample& s) {
  std::string_view code = s.label("response_code");
  std::string_view grpc = s.label("grpc_response_status");
  return !(code.size() == 3 && code[0] == '5') && (grpc.empty() || grpc == "0");
}

double bucket_bound(std::string_view le) {
  if (le == "+Inf") {
    return std::numeric_limits<double>::infinity();
  }
  double v = std::numeric_limits<double>::quiet_NaN();
  std::from_chars(le.data(), le.data() + le.size(), v);
  return v;
}

struct Accumulated {
  StatRow row;
  std::map<double, double> buckets;  ///< upper bound -> observations in the window
};

}  // namespace

std::optional<std::pair<std::string, std::string>> service_of(std::string_view fqdn) {
  std::size_t dot = fqdn.find('.');
  std::size_t dot2 = dot == std::string_view::npos ? dot : fqdn.find('.', dot + 1);
  if (dot == 0 || dot2 == std::string_view::npos || dot2 == dot + 1 ||
      fqdn.substr(dot2).find(".svc") != 0) {
    return std::nullopt;
  }
  return std::pair{std::string(fqdn.substr(dot + 1, dot2 - dot - 1)),
                   std::string(fqdn.substr(0, dot))};
}

bool between_peers(const StatSelection& sel, const MetricSample& s) {
  auto is = [&s](const std::optional<StatPeer>& peer, const char* ns, const char* workload) {
    return !peer ||
           (s.label(ns) == peer->ns && (peer->name.empty() || s.label(workload) == peer->name));
  };
  return is(sel.from, "source_workload_namespace", "source_workload") &&
         is(sel.to, "destination_workload_namespace", "destination_workload");
}

std::optional<std::pair<std::string, std::string>> stat_row_key(StatKind kind,
                                                                const MetricSample& s,
                                                                bool by_source) {
  std::pair<std::string, std::string> key;
  if (kind == StatKind::Route) {
    auto service = service_of(s.label("destination_service"));
    if (!service) {
      return std::nullopt;
    }
    std::string_view route = s.label("route");
    return std::pair{std::move(service->second),
                     std::string(route.empty() ? kDefaultRoute : route)};
  }
  if (kind == StatKind::Service) {
    auto service = service_of(s.label("destination_service"));
    if (!service) {
      return std::nullopt;
    }
    key = std::move(*service);
  } else {
    key.first = s.label(by_source ? "source_workload_namespace" : "destination_workload_namespace");
    if (kind == StatKind::Workload) {
      key.second = s.label(by_source ? "source_workload" : "destination_workload");
    }
  }
  if (key.first.empty() || (kind != StatKind::Namespace && key.second.empty())) {
    return std::nullopt;  // traffic to nothing weft knows as a workload or a Service
  }
  return key;
}

std::optional<std::pair<std::string, std::string>> meshed_row_key(StatKind kind,
                                                                  const MetricSample& s) {
  std::string ns(s.label("workload_namespace"));
  std::string workload(s.label("workload"));
  if (ns.empty() || (kind == StatKind::Workload && workload.empty()) ||
      (kind != StatKind::Workload && kind != StatKind::Namespace)) {
    return std::nullopt;
  }
  return std::pair{std::move(ns), kind == StatKind::Workload ? std::move(workload) : std::string()};
}

std::optional<double> StatRow::success_ratio() const {
  return share(successes, requests);
}

std::optional<double> StatRow::mtls_ratio() const {
  return share(mtls_requests, requests);
}

std::optional<double> StatRow::actual_success_ratio() const {
  // A request that succeeded did so on its last attempt; each retry was a failed one.
  return share(successes, requests + retries);
}

std::optional<double> bucket_quantile(double q,
                                      std::span<const std::pair<double, double>> buckets) {
  if (buckets.empty() || !std::isinf(buckets.back().first) || buckets.back().second <= 0) {
    return std::nullopt;
  }
  double rank = q * buckets.back().second;
  double lower = 0;
  double below = 0;
  for (std::size_t i = 0; i < buckets.size(); ++i) {
    auto [bound, count] = buckets[i];
    if (count >= rank) {
      if (std::isinf(bound)) {
        return i == 0 ? std::nullopt : std::optional<double>(buckets[i - 1].first);
      }
      if (i == 0 && bound <= 0) {
        return bound;
      }
      double in_bucket = count - below;
      return in_bucket > 0 ? lower + (bound - lower) * (rank - below) / in_bucket : bound;
    }
    lower = bound;
    below = count;
  }
  return std::nullopt;
}

std::vector<StatRow> stat_rows(const StatSelection& selection, std::span<const AgentScrapes> agents,
                               double seconds) {
  std::map<std::pair<std::string, std::string>, Accumulated> rows;
  std::map<std::pair<std::string, std::string>, double> meshed;
  for (const AgentScrapes& agent : agents) {
    for (const MetricSample& s : agent.after) {
      if (s.name == kWorkloadPods) {
        if (auto key = meshed_row_key(selection.kind, s)) {
          meshed[*key] += s.value;
        }
      }
      if (s.name != kTcpOpen) {
        continue;
      }
      if (auto key = row_of(selection, s)) {
        rows[*key].row.tcp_open += s.value;  // a gauge: as it is at the window's end
      }
    }
    for (const MetricSample& s : window_deltas(agent, kCounters)) {
      auto key = row_of(selection, s);
      if (!key) {
        continue;
      }
      Accumulated& acc = rows[*key];
      if (s.name == kRequests) {
        acc.row.requests += s.value;
        acc.row.successes += succeeded(s) ? s.value : 0;
        acc.row.mtls_requests +=
            s.label("connection_security_policy") == "mutual_tls" ? s.value : 0;
      } else if (s.name == kBuckets) {
        double bound = bucket_bound(s.label("le"));
        if (!std::isnan(bound)) {
          acc.buckets[bound] += s.value;
        }
      } else if (s.name == kRetries) {
        acc.row.retries += s.value;
      } else if (s.name == kSentBytes) {
        acc.row.bytes_in += s.value;  // what the clients sent, the workload received
      } else {
        acc.row.bytes_out += s.value;
      }
    }
  }
  for (const auto& [key, pods] : meshed) {
    // Without --from/--to every meshed workload has a row, traffic or not; with them, only
    // those that had some between the two.
    bool shown = selection.from || selection.to ? rows.contains(key) : in_selection(selection, key);
    if (shown) {
      rows[key].row.meshed = pods;
    }
  }
  std::vector<StatRow> out;
  for (auto& [key, acc] : rows) {
    StatRow row = std::move(acc.row);
    row.ns = key.first;
    row.name = key.second;
    row.seconds = seconds;
    std::vector<std::pair<double, double>> buckets(acc.buckets.begin(), acc.buckets.end());
    row.p50 = bucket_quantile(0.50, buckets);
    row.p95 = bucket_quantile(0.95, buckets);
    row.p99 = bucket_quantile(0.99, buckets);
    out.push_back(std::move(row));
  }
  return out;
}

}  // namespace weft::weftctl
