// What a GET /observe asks of the flow history: which records (filters) and how many of them
// (last, since, after). Parsed once from the query; errors name the key.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "agent/observe/FlowRecord.hpp"
#include "agent/tap/TapFilter.hpp"
#include "common/Error.hpp"
#include "common/IpAddr.hpp"

namespace weft::agent {

struct FlowQuery {
  std::optional<std::size_t> last;  ///< at most this many, the newest
  std::optional<int64_t> since_us;  ///< ended at or after this Unix time (microseconds)
  uint64_t after = 0;               ///< only records with a higher sequence number (a follower)
  std::string ns;                   ///< either end's namespace
  std::string workload;             ///< either end's workload
  std::optional<Cidr> ip;           ///< either end's address (an address is its own /32, /128)
  std::optional<uint16_t> port;     ///< either end's port
  std::optional<StatusRange> http_status;  ///< requests only
  std::optional<FlowVerdict> verdict;
  std::optional<FlowKind> kind;
  std::string trace_id;
  /// Not from the query: the namespaces an mTLS client may see (its tap_allow entry): the
  /// record's local end (the source outbound, the destination inbound) must be in one; empty:
  /// every one.
  std::vector<std::string> namespaces;

  /// Whether `record` passes the filters (not last/since/after, which FlowLog applies).
  bool matches(const FlowRecord& record) const;
};

/// The keys GET /observe takes: last, since (Unix seconds, fractions allowed), after, namespace,
/// workload, ip, port, http_status (503, 5xx, 5+), verdict (allowed, denied, failed), type
/// (request, connection), trace_id. Unknown keys and malformed values are errors that name the
/// key.
Result<FlowQuery> parse_flow_query(const std::vector<std::pair<std::string, std::string>>& query);

}  // namespace weft::agent
