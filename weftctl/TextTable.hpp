// The CLI's output: its formats (-o) and its tables, left-aligned columns three spaces apart, as
// kubectl and Linkerd print them.
#pragma once

#include <string>
#include <vector>

namespace weft::weftctl {

enum class OutputFormat { Table, Wide, Json };

/// `rows` (the first one the header), each cell padded to its column's widest.
std::string text_table(const std::vector<std::vector<std::string>>& rows);

}  // namespace weft::weftctl
