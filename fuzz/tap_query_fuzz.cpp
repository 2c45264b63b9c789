// Fuzzes an agent's reading of a tap request's query (the bytes of a loopback or mTLS client):
// a filter and settings, or an error that names a key; a parsed filter matches without fault.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "agent/tap/TapQuery.hpp"
#include "fuzz/Check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto split = bytes.find('\n');  // before: the query; after: the Accept header
  std::string_view query = bytes.substr(0, split);
  std::string_view accept = split == std::string_view::npos ? "" : bytes.substr(split + 1);
  auto q = weft::agent::parse_tap_query(query, accept);
  if (!q) {
    weft::fuzz::check(!q.error().message.empty());
    return 0;
  }
  weft::agent::TapEvent event;
  event.pod = "shop/web-1";
  event.status = 503;
  event.request.path = "/api";
  (void)q->filter.matches(event);
  weft::fuzz::check(!q->filter.describe().empty());
  return 0;
}
