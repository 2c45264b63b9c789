// Regular expressions of route matches: compiled once when a route is decoded, shared by every
// copy of the route, matched against whole values by l7::match_route().
#pragma once

#include <memory>
#include <regex>
#include <string_view>

namespace weft::l7 {

/// A compiled regular expression (ECMAScript, matched against the whole text), compiled once by
/// the decoder and shared by every copy of the object, so that matching never compiles.
using Regex = std::shared_ptr<const std::regex>;

/// Compiles `pattern` as the decoder does: ECMAScript syntax; with libstdc++ also its
/// `__polynomial` mode, which matches with a set of NFA states instead of backtracking, so that a
/// match takes time linear in the text and stack independent of it (a backtracking std::regex
/// recurses once per character and overflows the stack on a few thousand). Back-references are
/// therefore refused. Throws std::regex_error.
Regex compile_regex(std::string_view pattern);

}  // namespace weft::l7
