#include "agent/discovery/TimeText.hpp"

#include <cstddef>
#include <cstdint>

#include "agent/discovery/Ascii.hpp"

namespace weft::discovery::detail {

std::optional<std::chrono::sys_seconds> parse_time(std::string_view text) {
  auto number = [&text](std::size_t at, std::size_t digits) -> std::optional<int> {
    if (at + digits > text.size()) {
      return std::nullopt;
    }
    int value = 0;
    for (std::size_t i = at; i < at + digits; ++i) {
      if (!is_digit(text[i])) {
        return std::nullopt;
      }
      value = value * 10 + (text[i] - '0');
    }
    return value;
  };
  auto at_is = [&text](std::size_t at, std::string_view chars) {
    return at < text.size() && chars.find(text[at]) != std::string_view::npos;
  };
  auto year = number(0, 4);
  auto month = number(5, 2);
  auto day = number(8, 2);
  auto hour = number(11, 2);
  auto minute = number(14, 2);
  auto second = number(17, 2);
  if (!year || !month || !day || !hour || !minute || !second || !at_is(4, "-") || !at_is(7, "-") ||
      !at_is(10, "Tt ") || !at_is(13, ":") || !at_is(16, ":") || *hour > 23 || *minute > 59 ||
      *second > 59) {
    return std::nullopt;
  }
  std::chrono::year_month_day date{std::chrono::year(*year),
                                   std::chrono::month(static_cast<unsigned>(*month)),
                                   std::chrono::day(static_cast<unsigned>(*day))};
  if (!date.ok()) {
    return std::nullopt;
  }
  std::size_t at = 19;
  if (at_is(at, ".")) {
    std::size_t digits = at + 1;
    while (digits < text.size() && is_digit(text[digits])) {
      ++digits;
    }
    if (digits == at + 1) {
      return std::nullopt;
    }
    at = digits;
  }
  std::chrono::minutes offset{0};
  if (at_is(at, "Zz") && at + 1 == text.size()) {
    // UTC
  } else if (at_is(at, "+-") && at + 6 == text.size() && at_is(at + 3, ":")) {
    auto oh = number(at + 1, 2);
    auto om = number(at + 4, 2);
    if (!oh || !om || *oh > 23 || *om > 59) {
      return std::nullopt;
    }
    offset = std::chrono::hours(*oh) + std::chrono::minutes(*om);
    if (text[at] == '-') {
      offset = -offset;
    }
  } else {
    return std::nullopt;
  }
  return std::chrono::sys_days(date) + std::chrono::hours(*hour) + std::chrono::minutes(*minute) +
         std::chrono::seconds(*second) - offset;
}

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  if (text.empty()) {
    return std::nullopt;
  }
  int64_t total = 0;
  for (int components = 1; !text.empty(); ++components) {
    std::size_t digits = 0;
    int64_t value = 0;
    while (digits < text.size() && digits <= 5 && is_digit(text[digits])) {
      value = value * 10 + (text[digits] - '0');
      ++digits;
    }
    if (digits == 0 || digits > 5 || components > 4) {
      return std::nullopt;
    }
    text.remove_prefix(digits);
    int64_t unit = 0;
    if (text.starts_with("ms")) {
      unit = 1;
      text.remove_prefix(2);
    } else if (text.starts_with("h")) {
      unit = 3'600'000;
      text.remove_prefix(1);
    } else if (text.starts_with("m")) {
      unit = 60'000;
      text.remove_prefix(1);
    } else if (text.starts_with("s")) {
      unit = 1000;
      text.remove_prefix(1);
    } else {
      return std::nullopt;
    }
    total += value * unit;
  }
  return std::chrono::milliseconds(total);
}

}  // namespace weft::discovery::detail
