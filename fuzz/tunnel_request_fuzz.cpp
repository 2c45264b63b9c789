// Fuzzes what a tunnel server reads from a peer agent's CONNECT request before trusting any of
// it: the `:authority` (ip:port) and the `forwarded` header. Input: authority, '\n', forwarded.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/Forwarded.hpp"
#include "common/IpAddr.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto cut = text.find('\n');
  std::string_view authority = text.substr(0, cut);
  std::string_view forwarded = cut == std::string_view::npos ? "" : text.substr(cut + 1);
  // Whatever parses must print back to something that parses to the same value.
  if (auto addr = weft::SockAddr::parse(authority)) {
    auto again = weft::SockAddr::parse(addr->str());
    if (!again || *again != *addr) {
      __builtin_trap();
    }
  }
  if (auto ip = weft::parse_forwarded_for(forwarded)) {
    auto again = weft::parse_forwarded_for(weft::forwarded_for(*ip));
    if (!again || *again != *ip) {
      __builtin_trap();
    }
  }
  return 0;
}
