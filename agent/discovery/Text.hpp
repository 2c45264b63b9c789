// Making untrusted text safe to show in one log line or one error message.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace weft::discovery {

/// Escapes `"`, `\` and control or non-ASCII bytes (\n, \t, \xNN) so `text` fits between quotes
/// on one log line whatever a manifest or a file name contains.
std::string escape(std::string_view text);

/// `text` escaped, cut to `max` bytes (with "..." appended when cut) and put in double quotes;
/// error messages quote offending values this way.
std::string quoted_excerpt(std::string_view text, std::size_t max = 64);

}  // namespace weft::discovery
