// Regular expressions of route matches (Gateway API RegularExpression path, header, query and
// gRPC method matches): RE2 syntax, compiled once when a route is decoded, shared by every copy of
// the route, matched against whole values by l7::match_route(). RE2 matches in time linear in the
// text and never recurses on it, whatever the pattern.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <memory>
#include <string>
#include <string_view>

namespace re2 {
class RE2;
}

namespace weft::l7 {

/// A compiled regular expression; null when the match is not a RegularExpression one.
using Regex = std::shared_ptr<const re2::RE2>;

/// Memory RE2 may use for one expression (RE2::Options::max_mem): its compiled programs plus the
/// DFA caches matching fills. A DFA that fills its share is flushed and, if that happens too
/// often, RE2 falls back to its NFA: matching stays bounded in memory and linear in time.
inline constexpr int64_t kRegexMaxMem = int64_t{1} << 20;
/// The largest program one expression may compile to, in RE2 instructions (RE2::ProgramSize(),
/// "a very approximate measure of a regexp's cost"): "/a{1000}" is 1005, "[a-z]{1,1000}" 3003.
inline constexpr std::size_t kRegexMaxProgramSize = 20'000;

/// Why a pattern was refused.
struct RegexError {
  enum class Kind {
    Syntax,    ///< not RE2 syntax (back-references and lookaround included)
    TooLarge,  ///< over RE2's repetition bound, kRegexMaxProgramSize or kRegexMaxMem
  };
  Kind kind = Kind::Syntax;
  std::string reason;  ///< one line, e.g. "missing ): (" or "RE2 program of 23992 instructions"
};

/// Compiles `pattern` as route matches use it: RE2 syntax, byte by byte (RE2's Latin-1 mode: an
/// HTTP field is octets, and "." matches any one of them), kRegexMaxMem, at most
/// kRegexMaxProgramSize instructions. Never throws.
std::expected<Regex, RegexError> compile_regex(std::string_view pattern);

/// RE2's program size of a compiled expression (what compile_regex() bounds).
std::size_t regex_program_size(const re2::RE2& regex);

/// Whether the whole of `text` matches `regex`; false when `regex` is null.
bool regex_full_match(const Regex& regex, std::string_view text);

}  // namespace weft::l7
