#include "l7/Regex.hpp"

#include <fmt/format.h>
#include <re2/re2.h>

namespace weft::l7 {
namespace {

/// RE2's own words about a pattern, cut so that a message stays short (it may quote the whole
/// pattern); the caller escapes it.
std::string re2_reason(const re2::RE2& re) {
  constexpr std::size_t kMax = 128;
  const std::string& error = re.error();
  return error.size() <= kMax ? error : error.substr(0, kMax) + "...";
}

}  // namespace

std::expected<Regex, RegexError> compile_regex(std::string_view pattern) {
  re2::RE2::Options options;
  options.set_encoding(re2::RE2::Options::EncodingLatin1);
  options.set_max_mem(kRegexMaxMem);
  options.set_log_errors(false);  // errors are returned, never written to stderr
  auto re =
      std::make_shared<const re2::RE2>(re2::StringPiece(pattern.data(), pattern.size()), options);
  switch (re->error_code()) {
    case re2::RE2::NoError:
      break;
    case re2::RE2::ErrorRepeatSize:
      // RE2 refuses a {n,m} bound over 1000, nested bounds multiplied: "(a{100}){100}".
      return std::unexpected(RegexError{RegexError::Kind::TooLarge, re2_reason(*re)});
    case re2::RE2::ErrorPatternTooLarge:
      return std::unexpected(
          RegexError{RegexError::Kind::TooLarge,
                     fmt::format("its RE2 program needs more than {} KiB", kRegexMaxMem >> 10)});
    default:
      return std::unexpected(RegexError{RegexError::Kind::Syntax, re2_reason(*re)});
  }
  std::size_t size = regex_program_size(*re);
  if (size > kRegexMaxProgramSize) {
    return std::unexpected(RegexError{
        RegexError::Kind::TooLarge,
        fmt::format("RE2 program of {} instructions, at most {}", size, kRegexMaxProgramSize)});
  }
  return re;
}

std::size_t regex_program_size(const re2::RE2& regex) {
  int size = regex.ProgramSize();
  return size < 0 ? 0 : static_cast<std::size_t>(size);
}

bool regex_full_match(const Regex& regex, std::string_view text) {
  return regex != nullptr &&
         re2::RE2::FullMatch(re2::StringPiece(text.data(), text.size()), *regex);
}

}  // namespace weft::l7
