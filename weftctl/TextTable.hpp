// The CLI's output: its formats (-o) and its tables, left-aligned columns three spaces apart, as
// kubectl and Linkerd print them.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace weft::weftctl {

enum class OutputFormat { Table, Wide, Json };

/// `rows` (the first one the header), each cell padded to its column's widest.
std::string text_table(const std::vector<std::vector<std::string>>& rows);

/// A ratio as a table shows it: "99.50%", "-" for none.
std::string percent(std::optional<double> ratio);

/// Seconds as milliseconds with three significant digits at most: 0.42ms, 3.5ms, 120ms; "-"
/// for none.
std::string millis(std::optional<double> seconds);

}  // namespace weft::weftctl
