#include "agent/observe/FlowQuery.hpp"

#include <algorithm>

#include <fmt/format.h>

#include <strings.h>
#include <charconv>
#include <cmath>

namespace weft::agent {
namespace {

template <typename T>
std::optional<T> parse_number(const std::string& text) {
  T n{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return n;
}

bool end_matches(const FlowEnd& end, const FlowQuery& q) {
  return (q.ns.empty() || end.ns == q.ns) && (q.workload.empty() || end.workload == q.workload);
}

bool ip_matches(const FlowEnd& end, const Cidr& cidr) {
  return end.address && cidr.contains(end.address->ip);
}

bool port_matches(const FlowEnd& end, uint16_t port) {
  return end.address && end.address->port == port;
}

Error bad(std::string_view key, std::string_view expected, const std::string& value) {
  return make_error(Error::Kind::Config,
                    fmt::format("{}: expected {}, got \"{}\"", key, expected, value));
}

}  // namespace

bool FlowQuery::matches(const FlowRecord& r) const {
  if (!namespaces.empty() &&
      std::ranges::find(namespaces, (r.outbound ? r.src : r.dst).ns) == namespaces.end()) {
    return false;
  }
  if ((!ns.empty() || !workload.empty()) && !end_matches(r.src, *this) &&
      !end_matches(r.dst, *this)) {
    return false;
  }
  if (ip && !ip_matches(r.src, *ip) && !ip_matches(r.dst, *ip)) {
    return false;
  }
  if (port && !port_matches(r.src, *port) && !port_matches(r.dst, *port)) {
    return false;
  }
  if (http_status && (r.kind != FlowKind::Request || !http_status->contains(r.status))) {
    return false;
  }
  if (verdict && r.verdict != *verdict) {
    return false;
  }
  if (kind && r.kind != *kind) {
    return false;
  }
  return trace_id.empty() || strcasecmp(trace_id.c_str(), r.trace_id.c_str()) == 0;
}

Result<FlowQuery> parse_flow_query(const std::vector<std::pair<std::string, std::string>>& query) {
  FlowQuery q;
  for (const auto& [key, value] : query) {
    if (value.empty()) {
      return fail(Error::Kind::Config, fmt::format("{}: empty value", key));
    }
    if (key == "last") {
      auto n = parse_number<std::size_t>(value);
      if (!n || *n == 0) {
        return std::unexpected(bad(key, "a positive whole number", value));
      }
      q.last = n;
    } else if (key == "since") {
      auto s = parse_number<double>(value);
      if (!s || !std::isfinite(*s) || *s < 0 || *s > 1e11) {
        return std::unexpected(bad(key, "Unix seconds", value));
      }
      q.since_us = static_cast<int64_t>(std::llround(*s * 1e6));
    } else if (key == "after") {
      auto n = parse_number<uint64_t>(value);
      if (!n) {
        return std::unexpected(bad(key, "a sequence number", value));
      }
      q.after = *n;
    } else if (key == "namespace") {
      q.ns = value;
    } else if (key == "workload") {
      q.workload = value;
    } else if (key == "ip") {
      q.ip = Cidr::parse(value);
      if (!q.ip) {
        if (auto ip = IpAddr::parse(value)) {
          q.ip = Cidr{*ip, static_cast<uint8_t>(ip->is_v4() ? 32 : 128)};
        }
      }
      if (!q.ip) {
        return std::unexpected(bad(key, "an address or a CIDR", value));
      }
    } else if (key == "port") {
      auto n = parse_number<unsigned>(value);
      if (!n || *n < 1 || *n > 65535) {
        return std::unexpected(bad(key, "1-65535", value));
      }
      q.port = static_cast<uint16_t>(*n);
    } else if (key == "http_status") {
      q.http_status = StatusRange::parse(value);
      if (!q.http_status) {
        return std::unexpected(bad(key, "a code (503), a class (5xx) or a floor (5+)", value));
      }
    } else if (key == "verdict") {
      if (value == "allowed") {
        q.verdict = FlowVerdict::Allowed;
      } else if (value == "denied") {
        q.verdict = FlowVerdict::Denied;
      } else if (value == "failed") {
        q.verdict = FlowVerdict::Failed;
      } else {
        return std::unexpected(bad(key, "allowed, denied or failed", value));
      }
    } else if (key == "type") {
      if (value == "request") {
        q.kind = FlowKind::Request;
      } else if (value == "connection") {
        q.kind = FlowKind::Connection;
      } else {
        return std::unexpected(bad(key, "request or connection", value));
      }
    } else if (key == "trace_id") {
      q.trace_id = value;
    } else {
      return fail(Error::Kind::Config, fmt::format("unknown key \"{}\"", key));
    }
  }
  return q;
}

}  // namespace weft::agent
