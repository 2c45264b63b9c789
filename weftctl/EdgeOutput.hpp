// `weftctl edges`'s output: Linkerd's columns (SRC DST SRC_NS DST_NS SECURED; wide adds
// CLIENT_ID and SERVER_ID), or JSON with the counts behind them.
#pragma once

#include <span>
#include <string>

#include "weftctl/EdgeFigures.hpp"
#include "weftctl/TextTable.hpp"

namespace weft::weftctl {

std::string edge_output(std::span<const EdgeRow> rows, OutputFormat format);

}  // namespace weft::weftctl
