#include "agent/observe/FlowRecord.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <ctime>

namespace weft::agent {
namespace {

nlohmann::json end_json(const FlowEnd& end) {
  nlohmann::json out = nlohmann::json::object();
  if (end.address) {
    out["ip"] = end.address->ip.str();
    if (end.address->port != 0) {
      out["port"] = end.address->port;
    }
  }
  out["workload"] = end.workload;
  out["namespace"] = end.ns;
  out["principal"] = end.principal;
  return out;
}

/// RFC 3339 in UTC with microseconds: "2024-05-01T12:00:00.123456Z".
std::string rfc3339(int64_t time_us) {
  std::time_t seconds = static_cast<std::time_t>(time_us / 1000000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char day[32];
  std::strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:06}Z", day, time_us % 1000000);
}

}  // namespace

std::string_view to_string(FlowKind kind) {
  return kind == FlowKind::Request ? "request" : "connection";
}

std::string_view to_string(FlowVerdict verdict) {
  switch (verdict) {
    case FlowVerdict::Allowed:
      return "allowed";
    case FlowVerdict::Denied:
      return "denied";
    case FlowVerdict::Failed:
      return "failed";
  }
  return "allowed";
}

void FlowEnd::clear() {
  address.reset();
  workload.clear();
  ns.clear();
  principal.clear();
}

void RequestLine::put(std::size_t i, std::string_view value) {
  std::size_t n = std::min(value.size(), kMax[i]);
  std::memcpy(text_.data() + kOffset[i], value.data(), n);
  length_[i] = static_cast<uint16_t>(n);
}

void RequestLine::set(const l7::Headers& head) {
  length_ = {0, 0, 0, 0};
  // One pass over the head: requests carry a handful of fields, the pseudo-headers first.
  const std::string* authority = nullptr;
  const std::string* host = nullptr;
  for (const l7::Header& h : head) {
    if (h.name == ":method") {
      put(0, h.value);
    } else if (h.name == ":authority") {
      authority = &h.value;
    } else if (h.name == ":path") {
      put(2, h.value);
    } else if (h.name == "host") {
      host = &h.value;
    }
  }
  if (authority != nullptr || host != nullptr) {
    put(1, authority != nullptr ? *authority : *host);
  }
  put(3, l7::trace_id(head));
}

void FlowRecord::clear() {
  seq = 0;
  time_us = 0;
  kind = FlowKind::Request;
  verdict = FlowVerdict::Allowed;
  outbound = true;
  src.clear();
  dst.clear();
  service.clear();
  tls = false;
  protocol.clear();
  method.clear();
  authority.clear();
  path.clear();
  trace_id.clear();
  status = 0;
  grpc_status = -1;
  seconds = 0;
  sent = 0;
  received = 0;
  reason.clear();
}

void FlowRecord::set_request(const RequestLine& line) {
  method.assign(line.method());
  authority.assign(line.authority());
  path.assign(line.path());
  trace_id.assign(line.trace_id());
}

void FlowRecord::set_flow(const FlowLabels& labels, const std::optional<IpAddr>& client,
                          const std::optional<SockAddr>& target) {
  outbound = labels.reporter == "source";
  tls = labels.security_policy == "mutual_tls";
  service.assign(labels.destination_service);
  if (client) {
    src.address = SockAddr{*client, 0};
  }
  src.workload.assign(labels.source.workload);
  src.ns.assign(labels.source.ns);
  src.principal.assign(labels.source.principal);
  dst.address = target;
  dst.workload.assign(labels.destination.workload);
  dst.ns.assign(labels.destination.ns);
  dst.principal.assign(labels.destination.principal);
}

std::string to_json(const FlowRecord& r, std::string_view node) {
  nlohmann::json out = {
      {"seq", r.seq},
      {"time", rfc3339(r.time_us)},
      {"time_us", r.time_us},
      {"node", node},
      {"type", to_string(r.kind)},
      {"verdict", to_string(r.verdict)},
      {"direction", r.outbound ? "outbound" : "inbound"},
      {"src", end_json(r.src)},
      {"dst", end_json(r.dst)},
      {"service", r.service},
      {"tls", r.tls},
      {"protocol", r.protocol},
      {"seconds", r.seconds},
  };
  if (r.kind == FlowKind::Request) {
    out["method"] = r.method;
    out["authority"] = r.authority;
    out["path"] = r.path;
    out["status"] = r.status;
    out["grpc_status"] = r.grpc_status < 0 ? nlohmann::json() : nlohmann::json(r.grpc_status);
    out["trace_id"] = r.trace_id;
  } else {
    out["sent_bytes"] = r.sent;
    out["received_bytes"] = r.received;
  }
  if (!r.reason.empty()) {
    out["reason"] = r.reason;
  }
  // Paths and authorities are the apps' bytes: replace what is not UTF-8 rather than throw.
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace weft::agent
