#include "weftctl/StatOutput.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "weftctl/TextTable.hpp"

namespace weft::weftctl {
namespace {

std::string per_second(double value, double seconds, const char* unit) {
  return fmt::format("{:.1f}{}", seconds > 0 ? value / seconds : 0, unit);
}

nlohmann::json optional_number(std::optional<double> v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

std::string json(std::span<const StatRow> rows, StatKind kind) {
  nlohmann::json out = nlohmann::json::array();
  for (const StatRow& r : rows) {
    nlohmann::json row = {{"namespace", r.ns}};
    if (kind != StatKind::Namespace) {
      row["name"] = r.name;
    }
    row["meshed"] = optional_number(r.meshed);
    row["requests"] = r.requests;
    row["success"] = optional_number(r.success_ratio());
    row["rps"] = r.rps();
    row["latency_seconds"] = {{"p50", optional_number(r.p50)},
                              {"p95", optional_number(r.p95)},
                              {"p99", optional_number(r.p99)}};
    row["tcp_connections"] = r.tcp_open;
    double s = r.seconds > 0 ? r.seconds : 1;
    row["read_bytes_per_second"] = r.bytes_in / s;
    row["write_bytes_per_second"] = r.bytes_out / s;
    row["mtls"] = optional_number(r.mtls_ratio());
    row["window_seconds"] = r.seconds;
    out.push_back(std::move(row));
  }
  return out.dump(2) + "\n";
}

}  // namespace

std::string stat_output(std::span<const StatRow> rows, StatKind kind, OutputFormat format) {
  if (format == OutputFormat::Json) {
    return json(rows, kind);
  }
  if (rows.empty()) {
    return "No traffic found.\n";
  }
  bool wide = format == OutputFormat::Wide;
  std::vector<std::vector<std::string>> cells;
  std::vector<std::string> head = {"NAMESPACE"};
  if (kind != StatKind::Namespace) {
    head.emplace_back("NAME");
  }
  for (const char* h :
       {"MESHED", "SUCCESS", "RPS", "LATENCY_P50", "LATENCY_P95", "LATENCY_P99", "TCP_CONN"}) {
    head.emplace_back(h);
  }
  if (wide) {
    for (const char* h : {"READ_BYTES/SEC", "WRITE_BYTES/SEC", "MTLS"}) {
      head.emplace_back(h);
    }
  }
  cells.push_back(std::move(head));
  for (const StatRow& r : rows) {
    std::vector<std::string> line = {r.ns};
    if (kind != StatKind::Namespace) {
      line.push_back(r.name);
    }
    line.push_back(r.meshed ? fmt::format("{:.0f}", *r.meshed) : "-");
    line.push_back(percent(r.success_ratio()));
    line.push_back(per_second(r.requests, r.seconds, "rps"));
    line.push_back(millis(r.p50));
    line.push_back(millis(r.p95));
    line.push_back(millis(r.p99));
    line.push_back(fmt::format("{:.0f}", r.tcp_open));
    if (wide) {
      line.push_back(per_second(r.bytes_in, r.seconds, "B/s"));
      line.push_back(per_second(r.bytes_out, r.seconds, "B/s"));
      line.push_back(percent(r.mtls_ratio()));
    }
    cells.push_back(std::move(line));
  }
  return text_table(cells);
}

std::string route_output(std::span<const StatRow> rows, const std::string& service,
                         OutputFormat format) {
  if (format == OutputFormat::Json) {
    nlohmann::json out = nlohmann::json::array();
    for (const StatRow& r : rows) {
      out.push_back({{"route", r.name},
                     {"service", service},
                     {"requests", r.requests},
                     {"retries", r.retries},
                     {"success", optional_number(r.success_ratio())},
                     {"rps", r.rps()},
                     {"actual_success", optional_number(r.actual_success_ratio())},
                     {"actual_rps", r.actual_rps()},
                     {"latency_seconds",
                      {{"p50", optional_number(r.p50)},
                       {"p95", optional_number(r.p95)},
                       {"p99", optional_number(r.p99)}}},
                     {"window_seconds", r.seconds}});
    }
    return out.dump(2) + "\n";
  }
  if (rows.empty()) {
    return "No traffic found.\n";
  }
  bool wide = format == OutputFormat::Wide;
  std::vector<std::vector<std::string>> cells;
  cells.push_back(wide ? std::vector<std::string>{"ROUTE", "SERVICE", "EFFECTIVE_SUCCESS",
                                                  "EFFECTIVE_RPS", "ACTUAL_SUCCESS", "ACTUAL_RPS",
                                                  "LATENCY_P50", "LATENCY_P95", "LATENCY_P99"}
                       : std::vector<std::string>{"ROUTE", "SERVICE", "SUCCESS", "RPS",
                                                  "LATENCY_P50", "LATENCY_P95", "LATENCY_P99"});
  for (const StatRow& r : rows) {
    std::vector<std::string> line = {r.name, service, percent(r.success_ratio()),
                                     per_second(r.requests, r.seconds, "rps")};
    if (wide) {
      line.push_back(percent(r.actual_success_ratio()));
      line.push_back(fmt::format("{:.1f}rps", r.actual_rps()));
    }
    line.push_back(millis(r.p50));
    line.push_back(millis(r.p95));
    line.push_back(millis(r.p99));
    cells.push_back(std::move(line));
  }
  return text_table(cells);
}

}  // namespace weft::weftctl
