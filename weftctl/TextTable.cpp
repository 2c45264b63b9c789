#include "weftctl/TextTable.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace weft::weftctl {
namespace {

/// Columns a cell takes on a terminal: its UTF-8 code points (√ is three bytes, one column).
std::size_t columns(const std::string& cell) {
  return static_cast<std::size_t>(std::count_if(cell.begin(), cell.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

}  // namespace

std::string text_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width;
  for (const auto& row : rows) {
    width.resize(std::max(width.size(), row.size()), 0);
    for (std::size_t i = 0; i < row.size(); ++i) {
      width[i] = std::max(width[i], columns(row[i]));
    }
  }
  std::string out;
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) {
      out += row[i];
      if (i + 1 < row.size()) {
        out.append(width[i] - columns(row[i]) + 3, ' ');
      }
    }
    out += "\n";
  }
  return out;
}

std::string percent(std::optional<double> ratio) {
  return ratio ? fmt::format("{:.2f}%", *ratio * 100) : "-";
}

std::string millis(std::optional<double> seconds) {
  if (!seconds) {
    return "-";
  }
  double ms = *seconds * 1000;
  return ms < 10    ? fmt::format("{:.2f}ms", ms)
         : ms < 100 ? fmt::format("{:.1f}ms", ms)
                    : fmt::format("{:.0f}ms", ms);
}

}  // namespace weft::weftctl
