// One event of an agent's tap stream as weftctl reads it (the agent's /tap NDJSON, see
// agent/tap/TapEvent), and how `weftctl tap` prints it: Linkerd's req/rsp/end lines, or the
// event's JSON.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "weftctl/TextTable.hpp"

namespace weft::weftctl {

struct TapEnd {
  std::string ip;
  uint16_t port = 0;  ///< 0: not known
  std::string workload;
  std::string ns;
  std::string principal;
};

struct TapRecord {
  uint64_t id = 0;
  std::string node;
  bool outbound = true;
  TapEnd src;
  TapEnd dst;
  bool tls = false;
  std::string service;
  std::string protocol;
  std::string method;
  std::string authority;
  std::string path;
  std::string route;
  int status = 0;
  std::optional<int> grpc_status;
  double latency_seconds = 0;
  uint64_t request_bytes = 0;
  uint64_t response_bytes = 0;
  uint32_t retries = 0;
  std::string trace_id;
  std::string json;  ///< the line as the agent sent it
};

/// A line of the agent's stream; none for a keep-alive (blank) line. Anything else that is not
/// an event (not JSON, a field of the wrong type) is an error.
std::optional<TapRecord> parse_tap_line(std::string_view line, std::string* error);

/// The lines `weftctl tap` prints for `r` (newline-terminated): req, rsp and end as Linkerd
/// prints them (wide adds each end's workload and namespace), or the agent's JSON.
std::string tap_lines(const TapRecord& r, OutputFormat format);

}  // namespace weft::weftctl
