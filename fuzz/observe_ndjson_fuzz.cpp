// Fuzzes weftctl's reader of an agent's GET /observe answer (NDJSON flow records): whatever it
// reads prints in every format, and each record's JSON (what -o json prints) reads back as the
// same record.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/Check.hpp"
#include "weftctl/FlowOutput.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace weft::weftctl;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto flows = parse_flows(text);
  if (!flows) {
    weft::fuzz::check(flows.error().message.starts_with("line "));
    return 0;
  }
  for (const Flow& f : *flows) {
    auto again = parse_flows(f.json);
    weft::fuzz::check(again.has_value() && again->size() == 1);
    const Flow& g = again->front();
    weft::fuzz::check(g.seq == f.seq && g.time_us == f.time_us && g.node == f.node &&
                      g.type == f.type && g.verdict == f.verdict && g.src.ip == f.src.ip &&
                      g.dst.port == f.dst.port && g.status == f.status &&
                      g.grpc_status == f.grpc_status && g.sent == f.sent && g.path == f.path);
    weft::fuzz::check(!flow_summary(f).empty());
  }
  auto merged = merge_flows({*flows, *flows});
  weft::fuzz::check(merged.size() == 2 * flows->size());
  for (OutputFormat format : {OutputFormat::Table, OutputFormat::Wide, OutputFormat::Json}) {
    std::string out = flow_output(merged, format);
    weft::fuzz::check(format == OutputFormat::Json ? out.size() >= merged.size()
                                                   : out.starts_with("TIMESTAMP"));
  }
  return 0;
}
