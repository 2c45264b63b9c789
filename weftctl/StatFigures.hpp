// What `weftctl stat` shows for each namespace, workload or Service: success, requests per
// second, latency percentiles, open TCP connections and bytes per second over a window, computed
// from two scrapes of every agent's /metrics (--direct: no Prometheus needed). Success is
// response_code not 5xx and grpc_response_status empty or 0 (as the recording rules have it).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "weftctl/AgentScrapes.hpp"
#include "weftctl/MetricsText.hpp"

namespace weft::weftctl {

/// What a row is: a namespace and a workload seen by the servers' agents
/// (reporter="destination", so unmeshed clients count), a Service seen by the clients' agents
/// (reporter="source"), or one route rule of a Service (`weftctl routes`; its `route` label, as
/// the clients' agents count it).
enum class StatKind { Namespace, Workload, Service, Route };

/// One end of the traffic `--from` or `--to` names: a workload, or a whole namespace (name
/// empty).
struct StatPeer {
  std::string ns;
  std::string name;
  bool operator==(const StatPeer&) const = default;
};

struct StatSelection {
  StatKind kind = StatKind::Workload;
  std::string name;  ///< one namespace / workload / Service (Route: the Service); empty: all
  std::string ns;    ///< the namespace of the rows (workloads, Services); empty: all
  std::optional<StatPeer> from = std::nullopt;  ///< only traffic from it
  /// Only traffic to it; the rows are then its clients (namespaces or workloads, as the
  /// servers' agents name them).
  std::optional<StatPeer> to = std::nullopt;
};

/// The ROUTE of requests no route rule matched (an empty `route` label), as Linkerd names it.
inline constexpr const char* kDefaultRoute = "[DEFAULT]";

struct StatRow {
  std::string ns;
  std::string name;     ///< empty for a namespace row
  double requests = 0;  ///< in the window
  double successes = 0;
  double mtls_requests = 0;             ///< connection_security_policy="mutual_tls"
  double seconds = 0;                   ///< the window
  std::optional<double> p50, p95, p99;  ///< seconds; none without requests
  double tcp_open = 0;                  ///< at the window's end
  double bytes_in = 0;   ///< received by the workload (sent by its clients), in the window
  double bytes_out = 0;  ///< sent by the workload
  /// Namespace and workload rows: the pods the agents mesh (weft_workload_pods); none for the
  /// others.
  std::optional<double> meshed;
  double retries = 0;  ///< Route rows: attempts sent again (weft_request_retries_total)

  std::optional<double> success_ratio() const;
  std::optional<double> mtls_ratio() const;
  double rps() const { return seconds > 0 ? requests / seconds : 0; }
  /// Route rows: every attempt, retries included (Linkerd's "actual" beside "effective").
  std::optional<double> actual_success_ratio() const;
  double actual_rps() const { return seconds > 0 ? (requests + retries) / seconds : 0; }
};

/// The rows of `selection`, sorted by namespace and name, from every agent's two scrapes
/// `seconds` apart. Counters that went down (an agent restarted) count from zero.
std::vector<StatRow> stat_rows(const StatSelection& selection, std::span<const AgentScrapes> agents,
                               double seconds);

/// The (namespace, name) of the row a request or TCP series counts in for `kind` (name empty
/// for a namespace; Route: the Service's name and the route; `by_source`: the client's
/// namespace and workload); none when it names no workload or Service.
std::optional<std::pair<std::string, std::string>> stat_row_key(StatKind kind,
                                                                const MetricSample& s,
                                                                bool by_source = false);

/// Whether series `s` is traffic between the ends `sel.from` and `sel.to` name (either absent:
/// any).
bool between_peers(const StatSelection& sel, const MetricSample& s);

/// The (namespace, workload) row of a weft_workload_pods sample for `kind` (workload empty for
/// a namespace); none for Service and Route rows, which count no pods.
std::optional<std::pair<std::string, std::string>> meshed_row_key(StatKind kind,
                                                                  const MetricSample& s);

/// (namespace, name) of a Service's FQDN ("NAME.NAMESPACE.svc.DOMAIN"); none for anything else.
std::optional<std::pair<std::string, std::string>> service_of(std::string_view fqdn);

/// Prometheus's histogram_quantile over cumulative `buckets` (upper bound, count), sorted by
/// bound with +Inf last; none when they hold no observation.
std::optional<double> bucket_quantile(double q, std::span<const std::pair<double, double>> buckets);

}  // namespace weft::weftctl
