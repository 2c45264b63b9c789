// A tap request's query (after '?', percent-encoded; the bytes of a client): the session's
// filter and its own settings, parsed once when the session opens.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/tap/TapFilter.hpp"
#include "common/Error.hpp"

namespace weft::agent {

struct TapQuery {
  TapFilter filter;
  unsigned max_rps = 0;              ///< 0: the agent's default
  std::chrono::seconds duration{0};  ///< 0: until the client leaves
  bool sse = false;  ///< server-sent events (format=sse, or `accept` asks for them), else NDJSON
};

/// The URL-decoded key/value pairs of a query (after '?'), in order; what GET /observe parses
/// too.
std::vector<std::pair<std::string, std::string>> query_pairs(std::string_view query);

/// `query`'s keys: TapFilter's, and max_rps, duration (whole seconds) and format (ndjson, sse).
/// Errors name the key.
Result<TapQuery> parse_tap_query(std::string_view query, std::string_view accept);

}  // namespace weft::agent
