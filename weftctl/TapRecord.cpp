#include "weftctl/TapRecord.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <type_traits>

namespace weft::weftctl {
namespace {

using nlohmann::json;

/// `j[key]` as T when present and of T's JSON type; `fallback` when absent or null.
template <class T>
T field(const json& j, const char* key, T fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    return fallback;
  }
  bool fits = false;
  if constexpr (std::is_same_v<T, bool>) {
    fits = it->is_boolean();
  } else if constexpr (std::is_integral_v<T>) {
    fits = it->is_number_integer();  // a float could overflow T
  } else if constexpr (std::is_arithmetic_v<T>) {
    fits = it->is_number();
  } else {
    fits = it->is_string();
  }
  if (!fits) {
    throw std::invalid_argument(key);
  }
  return it->get<T>();
}

TapEnd end_of(const json& j, const char* key) {
  TapEnd out;
  auto it = j.find(key);
  if (it == j.end()) {
    return out;
  }
  if (!it->is_object()) {
    throw std::invalid_argument(key);
  }
  out.ip = field<std::string>(*it, "ip", "");
  auto port = field<int64_t>(*it, "port", 0);
  out.port = port > 0 && port <= 65535 ? static_cast<uint16_t>(port) : 0;
  out.workload = field<std::string>(*it, "workload", "");
  out.ns = field<std::string>(*it, "namespace", "");
  out.principal = field<std::string>(*it, "principal", "");
  return out;
}

std::string address(const TapEnd& e) {
  if (e.ip.empty()) {
    return "-";
  }
  bool v6 = e.ip.find(':') != std::string::npos;
  if (e.port == 0) {
    return e.ip;
  }
  return v6 ? fmt::format("[{}]:{}", e.ip, e.port) : fmt::format("{}:{}", e.ip, e.port);
}

/// Linkerd's latency: microseconds.
std::string micros(double seconds) {
  return fmt::format("{}µs", static_cast<uint64_t>(seconds * 1e6));
}

}  // namespace

std::optional<TapRecord> parse_tap_line(std::string_view line, std::string* error) {
  if (line.find_first_not_of(" \t\r") == std::string_view::npos) {
    return std::nullopt;
  }
  json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) {
    *error = "not a JSON object";
    return std::nullopt;
  }
  TapRecord r;
  try {
    r.id = field<uint64_t>(j, "id", 0);
    r.node = field<std::string>(j, "node", "");
    r.outbound = field<std::string>(j, "direction", "outbound") != "inbound";
    r.src = end_of(j, "src");
    r.dst = end_of(j, "dst");
    r.tls = field<bool>(j, "tls", false);
    r.service = field<std::string>(j, "service", "");
    r.protocol = field<std::string>(j, "protocol", "");
    r.method = field<std::string>(j, "method", "");
    r.authority = field<std::string>(j, "authority", "");
    r.path = field<std::string>(j, "path", "");
    r.route = field<std::string>(j, "route", "");
    r.status = static_cast<int>(field<int64_t>(j, "status", 0));
    if (j.contains("grpc_status") && !j["grpc_status"].is_null()) {
      r.grpc_status = static_cast<int>(field<int64_t>(j, "grpc_status", 0));
    }
    r.latency_seconds = field<double>(j, "latency_seconds", 0);
    r.request_bytes = field<uint64_t>(j, "request_bytes", 0);
    r.response_bytes = field<uint64_t>(j, "response_bytes", 0);
    r.retries = static_cast<uint32_t>(field<uint64_t>(j, "retries", 0));
    r.trace_id = field<std::string>(j, "trace_id", "");
  } catch (const std::exception& e) {
    *error = fmt::format("field \"{}\" has the wrong type", e.what());
    return std::nullopt;
  }
  r.json = std::string(line);
  return r;
}

std::string tap_lines(const TapRecord& r, OutputFormat format) {
  if (format == OutputFormat::Json) {
    return r.json + "\n";
  }
  std::string head = fmt::format("id={}:{} proxy={} src={} dst={} tls={}", r.node, r.id,
                                 r.outbound ? "out" : "in ", address(r.src), address(r.dst), r.tls);
  if (format == OutputFormat::Wide) {
    head += fmt::format(" src_res=deploy/{} src_ns={} dst_res={} dst_ns={}",
                        r.src.workload.empty() ? "-" : r.src.workload,
                        r.src.ns.empty() ? "-" : r.src.ns,
                        r.dst.workload.empty() ? "svc/" + r.service : "deploy/" + r.dst.workload,
                        r.dst.ns.empty() ? "-" : r.dst.ns);
  }
  std::string out = fmt::format("req {} :method={} :authority={} :path={}\n", head, r.method,
                                r.authority, r.path);
  out += fmt::format("rsp {} :status={} latency={}\n", head, r.status, micros(r.latency_seconds));
  out += fmt::format("end {} {}duration={} response-length={}B{}\n", head,
                     r.grpc_status ? fmt::format("grpc-status={} ", *r.grpc_status) : "",
                     micros(r.latency_seconds), r.response_bytes,
                     r.retries > 0 ? fmt::format(" retries={}", r.retries) : "");
  return out;
}

}  // namespace weft::weftctl
