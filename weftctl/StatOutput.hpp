// `weftctl stat`'s output: a table with Linkerd's columns (NAMESPACE NAME MESHED SUCCESS RPS
// LATENCY_P50 LATENCY_P95 LATENCY_P99 TCP_CONN; wide adds READ_BYTES/SEC WRITE_BYTES/SEC and
// MTLS), or JSON with the same figures in base units; and `weftctl routes`' (ROUTE SERVICE
// SUCCESS RPS latencies; wide: effective and actual success and rate, retries counted).
#pragma once

#include <span>
#include <string>

#include "weftctl/StatFigures.hpp"
#include "weftctl/TextTable.hpp"

namespace weft::weftctl {

/// `rows` of `kind` as `format` asks; the table says so when there is no row.
std::string stat_output(std::span<const StatRow> rows, StatKind kind, OutputFormat format);

/// Route rows (StatKind::Route) of `service` as `format` asks.
std::string route_output(std::span<const StatRow> rows, const std::string& service,
                         OutputFormat format);

}  // namespace weft::weftctl
