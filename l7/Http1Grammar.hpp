// RFC 9110 token and whitespace rules and ASCII case folding for the HTTP/1.1 parser's syntax
// checks, which are byte-oriented and locale-independent (internal header).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "l7/Headers.hpp"

namespace weft::l7::detail {

/// RFC 9110 §5.6.2 tchar, by byte value: field names are checked a byte at a time.
inline constexpr std::array<bool, 256> kTchar = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) {
    t[c] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
  }
  return t;
}();

inline bool is_tchar(char c) {
  return kTchar[static_cast<uint8_t>(c)];
}

inline bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

inline bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

inline char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

inline bool iequals(std::string_view a, std::string_view b) {
  return std::ranges::equal(a, b, [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

inline std::size_t skip_ows(std::string_view s, std::size_t i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) {
    ++i;
  }
  return i;
}

inline std::size_t token_end(std::string_view s, std::size_t i) {
  while (i < s.size() && is_tchar(s[i])) {
    ++i;
  }
  return i;
}

/// Drops the whitespace after each value (RFC 9110 §5.5: the OWS around a value is not part of it).
inline void trim_values(Headers& headers) {
  for (Header& h : headers) {
    std::size_t end = h.value.find_last_not_of(" \t");
    h.value.resize(end == std::string::npos ? 0 : end + 1);
  }
}

}  // namespace weft::l7::detail
