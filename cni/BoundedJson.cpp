#include "cni/BoundedJson.hpp"

#include <fmt/format.h>

namespace weft::cni {

std::size_t json_nesting_depth(std::string_view text, std::size_t limit) {
  std::size_t depth = 0;
  std::size_t deepest = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      ++depth;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > limit) {
          return deepest;
        }
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

Result<nlohmann::ordered_json> parse_bounded_json(std::string_view text) {
  if (text.size() > kMaxJsonBytes) {
    return fail(
        Error::Kind::Protocol,
        fmt::format("document is {} bytes, more than the limit of {}", text.size(), kMaxJsonBytes));
  }
  if (json_nesting_depth(text) > kMaxJsonDepth) {
    return fail(Error::Kind::Protocol,
                fmt::format("JSON nests deeper than {} levels", kMaxJsonDepth));
  }
  try {
    return nlohmann::ordered_json::parse(text);
  } catch (const nlohmann::ordered_json::exception& e) {
    // e.what() names the byte offset and token, which is what an operator needs.
    return fail(Error::Kind::Protocol, e.what());
  }
}

}  // namespace weft::cni
