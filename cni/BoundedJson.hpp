// JSON parsing for untrusted bytes (CNI stdin, files in the CNI config dir): bounded in size and
// nesting, never throws.
#pragma once

#include <cstddef>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/Error.hpp"

namespace weft::cni {

/// Deepest nesting accepted. nlohmann's dump, copy and comparison recurse once per level, so
/// a 1 MiB "[[[[..." would otherwise exhaust the stack; real CNI configs nest about 5 deep.
inline constexpr std::size_t kMaxJsonDepth = 64;

/// Largest document accepted (stdin or a config file).
inline constexpr std::size_t kMaxJsonBytes = 1024 * 1024;

/// Depth of the deepest array/object in `text`, counting brackets outside strings. Stops early
/// and returns limit + 1 once `limit` is exceeded.
std::size_t json_nesting_depth(std::string_view text, std::size_t limit = kMaxJsonDepth);

/// Parses one JSON document keeping object keys in their original order. Fails (Protocol) on
/// syntax errors, trailing bytes, invalid UTF-8, more than kMaxJsonBytes or kMaxJsonDepth.
Result<nlohmann::ordered_json> parse_bounded_json(std::string_view text);

}  // namespace weft::cni
