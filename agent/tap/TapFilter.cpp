#include "agent/tap/TapFilter.hpp"

#include <fmt/format.h>

#include <strings.h>
#include <algorithm>
#include <charconv>

namespace weft::agent {
namespace {

std::optional<int> parse_int(std::string_view text) {
  int n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return n;
}

bool is_end(const TapPeer& peer, const TapFilter& f) {
  return (f.ns.empty() || peer.ns == f.ns) && (f.workload.empty() || peer.workload == f.workload);
}

bool pod_matches(const TapFilter& f, std::string_view pod) {
  if (f.pod.find('/') != std::string::npos) {
    return pod == f.pod;
  }
  auto slash = pod.find('/');
  return slash != std::string_view::npos && pod.substr(slash + 1) == f.pod &&
         (f.ns.empty() || pod.substr(0, slash) == f.ns);
}

Result<void> set_cidr(std::optional<Cidr>& out, std::string_view key, const std::string& value) {
  // A bare address is its own /32 (/128).
  out = Cidr::parse(value);
  if (!out) {
    if (auto ip = IpAddr::parse(value)) {
      out = Cidr{*ip, static_cast<uint8_t>(ip->is_v4() ? 32 : 128)};
    }
  }
  if (!out) {
    return fail(Error::Kind::Config,
                fmt::format("{}: expected an address or a CIDR, got \"{}\"", key, value));
  }
  return {};
}

}  // namespace

std::optional<StatusRange> StatusRange::parse(std::string_view text) {
  if (text.size() == 3 && (text.substr(1) == "xx" || text.substr(1) == "XX")) {
    auto c = parse_int(text.substr(0, 1));
    if (c && *c >= 1 && *c <= 5) {
      return StatusRange{*c * 100, *c * 100 + 99};
    }
    return std::nullopt;
  }
  if (!text.empty() && text.back() == '+') {
    auto n = parse_int(text.substr(0, text.size() - 1));
    if (n && *n >= 1 && *n <= 5) {
      return StatusRange{*n * 100, 599};  // "5+": a class and those above it
    }
    if (n && *n >= 100 && *n <= 599) {
      return StatusRange{*n, 599};
    }
    return std::nullopt;
  }
  auto n = parse_int(text);
  if (n && (*n == 0 || (*n >= 100 && *n <= 599))) {
    return StatusRange{*n, *n};  // 0: no response reached the client
  }
  return std::nullopt;
}

bool TapFilter::matches(const TapEvent& e) const {
  if (!namespaces.empty() &&
      std::ranges::find(namespaces, std::string_view(e.pod).substr(0, e.pod.find('/'))) ==
          namespaces.end()) {
    return false;
  }
  if ((!ns.empty() || !workload.empty()) && !is_end(e.src, *this) && !is_end(e.dst, *this)) {
    return false;
  }
  if (!pod.empty() && !pod_matches(*this, e.pod)) {
    return false;
  }
  if ((!to_ns.empty() && e.dst.ns != to_ns) ||
      (!to_workload.empty() && e.dst.workload != to_workload)) {
    return false;
  }
  if (outbound && *outbound != e.outbound) {
    return false;
  }
  if (src && (!e.src.address || !src->contains(e.src.address->ip))) {
    return false;
  }
  if (dst && (!e.dst.address || !dst->contains(e.dst.address->ip))) {
    return false;
  }
  if (port && (!e.dst.address || e.dst.address->port != *port)) {
    return false;
  }
  if (!method.empty() && strcasecmp(method.c_str(), e.request.method.c_str()) != 0) {
    return false;
  }
  if (!authority.empty() && e.request.authority != authority) {
    return false;
  }
  if (!path_prefix.empty() && !e.request.path.starts_with(path_prefix)) {
    return false;
  }
  return !status || status->contains(e.status);
}

std::string TapFilter::describe() const {
  std::string out;
  auto add = [&out](std::string_view key, const std::string& value) {
    if (!value.empty()) {
      out += fmt::format("{}{}={}", out.empty() ? "" : ",", key, value);
    }
  };
  add("namespace", ns);
  add("workload", workload);
  add("pod", pod);
  add("to_namespace", to_ns);
  add("to_workload", to_workload);
  add("direction", outbound ? (*outbound ? "outbound" : "inbound") : "");
  add("src", src ? src->str() : "");
  add("dst", dst ? dst->str() : "");
  add("port", port ? std::to_string(*port) : "");
  add("method", method);
  add("authority", authority);
  add("path", path_prefix);
  add("status", status ? fmt::format("{}-{}", status->low, status->high) : "");
  std::string allowed;
  for (const std::string& n : namespaces) {
    allowed += (allowed.empty() ? "" : ";") + n;
  }
  add("allowed", allowed);
  return out.empty() ? "all" : out;
}

Result<TapFilter> parse_tap_filter(const std::vector<std::pair<std::string, std::string>>& query) {
  TapFilter f;
  for (const auto& [key, value] : query) {
    if (value.empty()) {
      return fail(Error::Kind::Config, fmt::format("{}: empty value", key));
    }
    if (key == "namespace") {
      f.ns = value;
    } else if (key == "workload") {
      f.workload = value;
    } else if (key == "pod") {
      f.pod = value;
    } else if (key == "to_namespace") {
      f.to_ns = value;
    } else if (key == "to_workload") {
      f.to_workload = value;
    } else if (key == "direction") {
      if (value != "outbound" && value != "inbound") {
        return fail(Error::Kind::Config,
                    fmt::format("direction: expected outbound or inbound, got \"{}\"", value));
      }
      f.outbound = value == "outbound";
    } else if (key == "src" || key == "dst") {
      if (auto ok = set_cidr(key == "src" ? f.src : f.dst, key, value); !ok) {
        return std::unexpected(ok.error());
      }
    } else if (key == "port") {
      auto n = parse_int(value);
      if (!n || *n < 1 || *n > 65535) {
        return fail(Error::Kind::Config, fmt::format("port: expected 1-65535, got \"{}\"", value));
      }
      f.port = static_cast<uint16_t>(*n);
    } else if (key == "method") {
      f.method = value;
    } else if (key == "authority") {
      f.authority = value;
    } else if (key == "path") {
      if (value.front() != '/') {
        return fail(Error::Kind::Config,
                    fmt::format("path: a prefix starts with '/', got \"{}\"", value));
      }
      f.path_prefix = value;
    } else if (key == "status") {
      f.status = StatusRange::parse(value);
      if (!f.status) {
        return fail(Error::Kind::Config,
                    fmt::format("status: expected a code (503), a class (5xx) or a floor (4+), "
                                "got \"{}\"",
                                value));
      }
    } else {
      return fail(Error::Kind::Config, fmt::format("unknown filter \"{}\"", key));
    }
  }
  return f;
}

}  // namespace weft::agent
