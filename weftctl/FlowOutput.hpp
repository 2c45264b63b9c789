// `weftctl observe`'s records: read from the agents' NDJSON (GET /observe; remote bytes, so every
// field is checked and a bad line is an error, never a crash), merged by time and printed in
// Hubble's columns (TIMESTAMP SOURCE DESTINATION TYPE VERDICT SUMMARY) or as JSON lines.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/Error.hpp"
#include "weftctl/TextTable.hpp"

namespace weft::weftctl {

/// One end of a flow as an agent reported it.
struct FlowPeer {
  std::string ip;  ///< empty: not known
  int port = 0;    ///< 0: not known
  std::string workload;
  std::string ns;
  std::string principal;
};

/// One record of an agent's flow history.
struct Flow {
  uint64_t seq = 0;
  int64_t time_us = 0;
  std::string node;
  std::string type;     ///< "request" or "connection"
  std::string verdict;  ///< "allowed", "denied" or "failed"
  std::string direction;
  FlowPeer src;
  FlowPeer dst;
  std::string service;
  bool tls = false;
  std::string protocol;
  std::string method;
  std::string path;
  std::string authority;
  std::string trace_id;
  int status = 0;
  std::optional<int> grpc_status;
  double seconds = 0;
  uint64_t sent = 0;
  uint64_t received = 0;
  std::string reason;
  std::string json;  ///< the line as the agent sent it (what -o json prints)
};

/// The records of one GET /observe answer (blank lines skipped); an error names the line.
Result<std::vector<Flow>> parse_flows(std::string_view ndjson);

/// Every agent's records in one list ordered by time (then node, then sequence).
std::vector<Flow> merge_flows(std::vector<std::vector<Flow>> per_agent);

/// "HTTP/1.1 GET /api 200 3ms", "TCP 1.2 KiB → 3.4 KiB 2.1s", "TCP denied by policy
/// (not_allowed)": the SUMMARY column.
std::string flow_summary(const Flow& flow);

/// "May  1 12:00:00.123" in this machine's time zone, as Hubble prints its TIMESTAMP.
std::string flow_timestamp(int64_t time_us);

/// The records as a table (`header`: with the column names; a follower prints them once) or,
/// for Json, one agent line each.
std::string flow_output(std::span<const Flow> flows, OutputFormat format, bool header = true);

}  // namespace weft::weftctl
