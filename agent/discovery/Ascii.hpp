// ASCII character classes and case folding for the manifest decoder's syntax checks, which are
// byte-oriented and locale-independent (internal header).
#pragma once

#include <string>
#include <string_view>

namespace weft::discovery::detail {

constexpr bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

constexpr bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/// `text` with A-Z lowered (HTTP header names compare case-insensitively).
inline std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    c = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return out;
}

}  // namespace weft::discovery::detail
