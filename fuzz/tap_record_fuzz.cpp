// Fuzzes weftctl's reader of an agent's tap stream (one NDJSON line of /tap): a line is an
// event, a keep-alive or an error with a reason, and an event prints in every format.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/Check.hpp"
#include "weftctl/TapRecord.hpp"
#include "weftctl/TopTable.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace weft::weftctl;
  std::string_view line(reinterpret_cast<const char*>(data), size);
  std::string error;
  auto record = parse_tap_line(line, &error);
  if (!record) {
    bool blank = line.find_first_not_of(" \t\r") == std::string_view::npos;
    weft::fuzz::check(blank == error.empty());
    return 0;
  }
  weft::fuzz::check(tap_lines(*record, OutputFormat::Json) == std::string(line) + "\n");
  weft::fuzz::check(tap_lines(*record, OutputFormat::Table).starts_with("req id="));
  weft::fuzz::check(!tap_lines(*record, OutputFormat::Wide).empty());
  TopTable table;
  table.add(*record);
  weft::fuzz::check(table.rows().size() == 1 && table.rows()[0].count == 1);
  weft::fuzz::check(!table.table(10).empty() && !table.json().empty());
  return 0;
}
