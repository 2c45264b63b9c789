#include "weftctl/FlowOutput.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <ctime>

namespace weft::weftctl {
namespace {

using nlohmann::json;

/// The string at `key`, "" when absent or null; an error when it has another type.
Result<std::string> text_at(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    return std::string();
  }
  if (!it->is_string()) {
    return fail(Error::Kind::Protocol, fmt::format("\"{}\" is not a string", key));
  }
  return it->get<std::string>();
}

/// The integer at `key` within [lo, hi], `fallback` when absent or null.
Result<int64_t> int_at(const json& j, const char* key, int64_t lo, int64_t hi,
                       int64_t fallback = 0) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    return fallback;
  }
  if (!it->is_number_integer() && !it->is_number_unsigned()) {
    return fail(Error::Kind::Protocol, fmt::format("\"{}\" is not a whole number", key));
  }
  if (it->is_number_unsigned() ? it->get<uint64_t>() > static_cast<uint64_t>(hi)
                               : (it->get<int64_t>() < lo || it->get<int64_t>() > hi)) {
    return fail(Error::Kind::Protocol, fmt::format("\"{}\" is out of range", key));
  }
  return it->is_number_unsigned() ? static_cast<int64_t>(it->get<uint64_t>()) : it->get<int64_t>();
}

Result<void> read_peer(const json& j, const char* key, FlowPeer& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    return {};
  }
  if (!it->is_object()) {
    return fail(Error::Kind::Protocol, fmt::format("\"{}\" is not an object", key));
  }
  auto ip = text_at(*it, "ip");
  auto port = int_at(*it, "port", 0, 65535);
  auto workload = text_at(*it, "workload");
  auto ns = text_at(*it, "namespace");
  auto principal = text_at(*it, "principal");
  for (const Error* e : {ip ? nullptr : &ip.error(), port ? nullptr : &port.error(),
                         workload ? nullptr : &workload.error(), ns ? nullptr : &ns.error(),
                         principal ? nullptr : &principal.error()}) {
    if (e != nullptr) {
      return fail(Error::Kind::Protocol, fmt::format("{}: {}", key, e->message));
    }
  }
  out = {std::move(*ip), static_cast<int>(*port), std::move(*workload), std::move(*ns),
         std::move(*principal)};
  return {};
}

Result<Flow> read_flow(std::string_view line) {
  json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return fail(Error::Kind::Protocol, "not a JSON object");
  }
  Flow f;
  constexpr int64_t kMaxInt = std::numeric_limits<int64_t>::max();
  struct Text {
    const char* key;
    std::string* out;
  };
  for (Text t :
       {Text{"node", &f.node}, Text{"type", &f.type}, Text{"verdict", &f.verdict},
        Text{"direction", &f.direction}, Text{"service", &f.service}, Text{"protocol", &f.protocol},
        Text{"method", &f.method}, Text{"path", &f.path}, Text{"authority", &f.authority},
        Text{"trace_id", &f.trace_id}, Text{"reason", &f.reason}}) {
    auto v = text_at(j, t.key);
    if (!v) {
      return std::unexpected(v.error());
    }
    *t.out = std::move(*v);
  }
  auto seq = int_at(j, "seq", 0, kMaxInt);
  auto time = int_at(j, "time_us", 0, kMaxInt);
  auto status = int_at(j, "status", 0, 999);
  auto grpc = int_at(j, "grpc_status", 0, 1000, -1);
  auto sent = int_at(j, "sent_bytes", 0, kMaxInt);
  auto received = int_at(j, "received_bytes", 0, kMaxInt);
  for (const auto* r : {&seq, &time, &status, &grpc, &sent, &received}) {
    if (!*r) {
      return std::unexpected(r->error());
    }
  }
  f.seq = static_cast<uint64_t>(*seq);
  f.time_us = *time;
  f.status = static_cast<int>(*status);
  if (*grpc >= 0) {
    f.grpc_status = static_cast<int>(*grpc);
  }
  f.sent = static_cast<uint64_t>(*sent);
  f.received = static_cast<uint64_t>(*received);
  if (auto it = j.find("seconds"); it != j.end() && !it->is_null()) {
    if (!it->is_number() || !(it->get<double>() >= 0)) {
      return fail(Error::Kind::Protocol, "\"seconds\" is not a duration");
    }
    f.seconds = it->get<double>();
  }
  if (auto it = j.find("tls"); it != j.end() && !it->is_null()) {
    if (!it->is_boolean()) {
      return fail(Error::Kind::Protocol, "\"tls\" is not true or false");
    }
    f.tls = it->get<bool>();
  }
  for (auto [key, peer] : {std::pair{"src", &f.src}, std::pair{"dst", &f.dst}}) {
    if (auto ok = read_peer(j, key, *peer); !ok) {
      return std::unexpected(ok.error());
    }
  }
  f.json = j.dump(-1, ' ', false, json::error_handler_t::replace);
  return f;
}

/// "1.2 KiB", "512 B", "3.4 MiB".
std::string bytes_text(uint64_t n) {
  if (n < 1024) {
    return fmt::format("{} B", n);
  }
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  std::size_t unit = 0;
  for (v /= 1024; v >= 1024 && unit + 1 < std::size(kUnits); v /= 1024) {
    ++unit;
  }
  return fmt::format("{:.1f} {}", v, kUnits[unit]);
}

/// "850us", "3ms", "2.1s", "4m10s".
std::string duration_text(double seconds) {
  if (seconds < 0.001) {
    return fmt::format("{}us", static_cast<long>(seconds * 1e6));
  }
  if (seconds < 1) {
    return fmt::format("{}ms", static_cast<long>(seconds * 1e3));
  }
  if (seconds < 60) {
    return fmt::format("{:.1f}s", seconds);
  }
  long s = static_cast<long>(seconds);
  return s < 3600 ? fmt::format("{}m{}s", s / 60, s % 60)
                  : fmt::format("{}h{}m", s / 3600, s % 3600 / 60);
}

/// "shop/web:8080" (namespace/workload), else the address, else "-"; the port when known.
std::string peer_text(const FlowPeer& p) {
  std::string who = !p.workload.empty() ? (p.ns.empty() ? p.workload : p.ns + "/" + p.workload)
                    : !p.ip.empty()
                        ? (p.ip.find(':') != std::string::npos ? "[" + p.ip + "]" : p.ip)
                        : std::string("-");
  return p.port != 0 && who != "-" ? fmt::format("{}:{}", who, p.port) : who;
}

std::string upper(std::string s) {
  std::ranges::transform(s, s.begin(),
                         [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

}  // namespace

Result<std::vector<Flow>> parse_flows(std::string_view ndjson) {
  std::vector<Flow> out;
  std::size_t number = 0;
  while (!ndjson.empty()) {
    auto nl = ndjson.find('\n');
    std::string_view line = ndjson.substr(0, nl);
    ndjson = nl == std::string_view::npos ? std::string_view() : ndjson.substr(nl + 1);
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) {
      continue;
    }
    auto flow = read_flow(line);
    if (!flow) {
      return fail(Error::Kind::Protocol, fmt::format("line {}: {}", number, flow.error().message));
    }
    out.push_back(std::move(*flow));
  }
  return out;
}

std::vector<Flow> merge_flows(std::vector<std::vector<Flow>> per_agent) {
  std::vector<Flow> out;
  for (auto& flows : per_agent) {
    std::ranges::move(flows, std::back_inserter(out));
  }
  std::ranges::stable_sort(out, [](const Flow& a, const Flow& b) {
    return std::tie(a.time_us, a.node, a.seq) < std::tie(b.time_us, b.node, b.seq);
  });
  return out;
}

std::string flow_summary(const Flow& f) {
  std::string why = f.reason.empty() ? "" : fmt::format(" ({})", f.reason);
  if (f.type == "connection") {
    if (f.verdict == "denied") {
      return "TCP denied by policy" + why;
    }
    if (f.verdict == "failed") {
      return "TCP failed" + (f.reason.empty() ? std::string() : ": " + f.reason);
    }
    return fmt::format("TCP {} \u2192 {} {}", bytes_text(f.sent), bytes_text(f.received),
                       duration_text(f.seconds));  // →
  }
  std::string line = fmt::format("{} {} {}", f.protocol.empty() ? "HTTP" : f.protocol,
                                 f.method.empty() ? "-" : f.method, f.path.empty() ? "-" : f.path);
  std::string answer = f.status == 0 ? "no response" : std::to_string(f.status);
  if (f.grpc_status) {
    answer += fmt::format(" grpc-status {}", *f.grpc_status);
  }
  if (f.verdict == "denied") {
    return fmt::format("{} {} denied by policy{}", line, answer, why);
  }
  if (f.verdict == "failed") {
    return fmt::format("{} {} failed{}", line, answer, why);
  }
  return fmt::format("{} {} {}", line, answer, duration_text(f.seconds));
}

std::string flow_timestamp(int64_t time_us) {
  std::time_t seconds = static_cast<std::time_t>(time_us / 1000000);
  std::tm tm{};
  localtime_r(&seconds, &tm);
  char text[32];
  std::strftime(text, sizeof(text), "%b %e %H:%M:%S", &tm);
  return fmt::format("{}.{:03}", text, time_us % 1000000 / 1000);
}

std::string flow_output(std::span<const Flow> flows, OutputFormat format, bool header) {
  if (format == OutputFormat::Json) {
    std::string out;
    for (const Flow& f : flows) {
      out += f.json + "\n";
    }
    return out;
  }
  bool wide = format == OutputFormat::Wide;
  std::vector<std::vector<std::string>> cells;
  if (wide) {
    cells.push_back({"TIMESTAMP", "NODE", "SOURCE", "DESTINATION", "SERVICE", "TYPE", "VERDICT",
                     "TLS", "TRACE_ID", "SUMMARY"});
  } else {
    cells.push_back({"TIMESTAMP", "SOURCE", "DESTINATION", "TYPE", "VERDICT", "SUMMARY"});
  }
  for (const Flow& f : flows) {
    if (wide) {
      cells.push_back({flow_timestamp(f.time_us), f.node.empty() ? "-" : f.node, peer_text(f.src),
                       peer_text(f.dst), f.service.empty() ? "-" : f.service, f.type,
                       upper(f.verdict), f.tls ? "\u221a" : "\u00d7",
                       f.trace_id.empty() ? "-" : f.trace_id, flow_summary(f)});
    } else {
      cells.push_back({flow_timestamp(f.time_us), peer_text(f.src), peer_text(f.dst), f.type,
                       upper(f.verdict), flow_summary(f)});
    }
  }
  if (!header) {
    cells.erase(cells.begin());
    if (cells.empty()) {
      return {};
    }
  }
  return text_table(cells);
}

}  // namespace weft::weftctl
