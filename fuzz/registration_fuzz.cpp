// Fuzzes the agent's decoder of registration requests arriving on its unix socket.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/PodRegistration.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto reg = weft::decode_registration(text)) {
    // Whatever decodes must round-trip through the encoder unchanged.
    auto again = weft::decode_registration(weft::encode(*reg));
    if (!again || again->container_id != reg->container_id || again->ips != reg->ips) {
      __builtin_trap();
    }
  }
  (void)weft::decode_reply(text);
  return 0;
}
