#include "weftctl/PrometheusStat.hpp"

#include <fmt/format.h>

#include <cmath>
#include <map>
#include <optional>
#include <utility>

namespace weft::weftctl {
namespace {

using Figure = StatQuery::Figure;

/// A label value inside a PromQL string literal or regular expression.
std::string quoted(std::string_view text, bool regex) {
  std::string out;
  for (char c : text) {
    if (regex && std::string_view(".+*?()[]{}|^$").find(c) != std::string_view::npos) {
      out += "\\\\";  // the regex escape, itself escaped in the string literal
    } else if (c == '\\' || c == '"') {
      out += '\\';
    }
    out += c;
  }
  return out;
}

/// The matchers of --from's and --to's ends (", source_workload_namespace=..." ...).
std::string peer_matchers(const StatSelection& sel) {
  std::string out;
  auto add = [&out](const std::optional<StatPeer>& peer, const char* side) {
    if (peer) {
      out += fmt::format(", {}_workload_namespace=\"{}\"", side, quoted(peer->ns, false));
      if (!peer->name.empty()) {
        out += fmt::format(", {}_workload=\"{}\"", side, quoted(peer->name, false));
      }
    }
  };
  add(sel.from, "source");
  add(sel.to, "destination");
  return out;
}

/// The `by` labels and the series selector of a selection.
std::pair<std::string, std::string> grouping(const StatSelection& sel) {
  if (sel.kind == StatKind::Service || sel.kind == StatKind::Route) {
    // "NAME.NAMESPACE.svc.DOMAIN": the domain is the cluster's, whatever it is.
    std::string host =
        fmt::format("{}\\\\.{}\\\\.svc\\\\..+", sel.name.empty() ? "[^.]+" : quoted(sel.name, true),
                    sel.ns.empty() ? "[^.]+" : quoted(sel.ns, true));
    return {sel.kind == StatKind::Route ? "destination_service, route" : "destination_service",
            fmt::format("reporter=\"source\", destination_service=~\"{}\"{}", host,
                        peer_matchers(sel))};
  }
  // The rows are the servers, or with --to the clients of the one it names.
  std::string side = sel.to ? "source" : "destination";
  std::string selector = "reporter=\"destination\"" + peer_matchers(sel);
  std::string ns = sel.kind == StatKind::Namespace ? sel.name : sel.ns;
  selector += ns.empty() ? fmt::format(", {}_workload_namespace!=\"\"", side)
                         : fmt::format(", {}_workload_namespace=\"{}\"", side, quoted(ns, false));
  if (sel.kind == StatKind::Namespace) {
    return {side + "_workload_namespace", selector};
  }
  selector += sel.name.empty() ? fmt::format(", {}_workload!=\"\"", side)
                               : fmt::format(", {}_workload=\"{}\"", side, quoted(sel.name, false));
  return {fmt::format("{0}_workload_namespace, {0}_workload", side), selector};
}

void fill(StatRow& row, Figure figure, double v) {
  std::optional<double> latency = std::isnan(v) ? std::nullopt : std::optional(v);
  switch (figure) {
    case Figure::Requests:
      row.requests = v;
      break;
    case Figure::Successes:
      row.successes = v;
      break;
    case Figure::Mtls:
      row.mtls_requests = v;
      break;
    case Figure::P50:
      row.p50 = latency;
      break;
    case Figure::P95:
      row.p95 = latency;
      break;
    case Figure::P99:
      row.p99 = latency;
      break;
    case Figure::TcpOpen:
      row.tcp_open = v;
      break;
    case Figure::BytesIn:
      row.bytes_in = v;
      break;
    case Figure::BytesOut:
      row.bytes_out = v;
      break;
    case Figure::Meshed:
      row.meshed = v;
      break;
    case Figure::Retries:
      row.retries = v;
      break;
  }
}

}  // namespace

std::vector<StatQuery> stat_queries(const StatSelection& selection, std::chrono::seconds window) {
  auto [by, sel] = grouping(selection);
  std::string w = fmt::format("{}s", window.count());
  auto increase = [&](const char* metric, std::string_view more) {
    return fmt::format("sum by ({}) (increase({}{{{}{}}}[{}]))", by, metric, sel, more, w);
  };
  auto quantile = [&](const char* q) {
    return fmt::format(
        "histogram_quantile({}, sum by ({}, le) "
        "(rate(weft_request_duration_seconds_bucket{{{}}}[{}])))",
        q, by, sel, w);
  };
  std::vector<StatQuery> queries = {
      {Figure::Requests, increase("weft_requests_total", "")},
      {Figure::Successes,
       increase("weft_requests_total", ", response_code!~\"5..\", grpc_response_status=~\"0?\"")},
      {Figure::Mtls,
       increase("weft_requests_total", ", connection_security_policy=\"mutual_tls\"")},
      {Figure::P50, quantile("0.5")},
      {Figure::P95, quantile("0.95")},
      {Figure::P99, quantile("0.99")},
      {Figure::TcpOpen, fmt::format("sum by ({}) (weft_tcp_connections_open{{{}}})", by, sel)},
      // Named from the client's side: what the clients sent, the workload received.
      {Figure::BytesIn, increase("weft_tcp_sent_bytes_total", "")},
      {Figure::BytesOut, increase("weft_tcp_received_bytes_total", "")},
  };
  if (selection.kind == StatKind::Route) {
    queries.push_back({Figure::Retries, increase("weft_request_retries_total", "")});
  }
  if (selection.kind == StatKind::Workload || selection.kind == StatKind::Namespace) {
    std::string ns = selection.kind == StatKind::Namespace ? selection.name : selection.ns;
    std::string pods =
        ns.empty() ? "" : fmt::format("workload_namespace=\"{}\"", quoted(ns, false));
    if (selection.kind == StatKind::Workload && !selection.name.empty()) {
      pods +=
          fmt::format("{}workload=\"{}\"", pods.empty() ? "" : ", ", quoted(selection.name, false));
    }
    queries.push_back({Figure::Meshed, fmt::format("sum by ({}) (weft_workload_pods{{{}}})",
                                                   selection.kind == StatKind::Workload
                                                       ? "workload_namespace, workload"
                                                       : "workload_namespace",
                                                   pods)});
  }
  return queries;
}

std::vector<StatRow> stat_rows_from_prometheus(const StatSelection& selection,
                                               std::span<const StatQuery> queries,
                                               std::span<const std::vector<MetricSample>> results,
                                               std::chrono::seconds window) {
  std::map<std::pair<std::string, std::string>, StatRow> rows;
  for (std::size_t i = 0; i < queries.size() && i < results.size(); ++i) {
    for (const MetricSample& s : results[i]) {
      bool meshed = queries[i].figure == Figure::Meshed;
      auto key = meshed ? meshed_row_key(selection.kind, s)
                        : stat_row_key(selection.kind, s, selection.to.has_value());
      // With --from/--to, only rows with traffic between the two (the pods' query comes last).
      if (key && (!meshed || !(selection.from || selection.to) || rows.contains(*key))) {
        fill(rows[*key], queries[i].figure, s.value);
      }
    }
  }
  std::vector<StatRow> out;
  for (auto& [key, row] : rows) {
    row.ns = key.first;
    row.name = key.second;
    row.seconds = static_cast<double>(window.count());
    out.push_back(std::move(row));
  }
  return out;
}

}  // namespace weft::weftctl
