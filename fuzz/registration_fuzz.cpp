// Fuzzes the agent's decoder of registration requests arriving on its unix socket, and weft-cni's
// decoder of the agent's reply.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/PodRegistration.hpp"

namespace {

bool same(const weft::PodRegistration& a, const weft::PodRegistration& b) {
  return a.op == b.op && a.container_id == b.container_id && a.netns == b.netns &&
         a.ifname == b.ifname && a.ips == b.ips && a.pod_name == b.pod_name &&
         a.pod_namespace == b.pod_namespace && a.pod_uid == b.pod_uid;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto reg = weft::decode_registration(text)) {
    // Whatever decodes must round-trip through the encoder unchanged.
    auto again = weft::decode_registration(weft::encode(*reg));
    if (!again || !same(*again, *reg)) {
      __builtin_trap();
    }
  }
  if (auto reply = weft::decode_reply(text)) {
    auto again = weft::decode_reply(weft::encode(*reply));
    if (!again || again->ok != reply->ok || (!reply->ok && again->error != reply->error)) {
      __builtin_trap();
    }
  }
  return 0;
}
