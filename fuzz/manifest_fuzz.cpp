// Fuzzes the manifest decoder (untrusted YAML/JSON from the manifests directory, JSON from the
// API server: list pages and watch events read by agent/kube/ApiObjects.hpp, items decoded as
// the list's kind) and, for whatever decodes, the World built from it and its lookups.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "agent/discovery/ManifestDecoder.hpp"
#include "agent/discovery/World.hpp"
#include "agent/kube/ApiObjects.hpp"

namespace {

using weft::IpAddr;
using weft::SockAddr;
using weft::discovery::Resolution;

void check(bool ok) {
  if (!ok) {
    __builtin_trap();
  }
}

void exercise(const weft::discovery::World& world) {
  for (const auto& svc : world.services()) {
    for (const auto& ip : svc.cluster_ips) {
      for (const auto& port : svc.ports) {
        Resolution r = world.resolve(SockAddr{ip, port.port});
        // A TCP port on a ClusterIP always resolves to a Service (the first on conflicts).
        check(port.protocol != "TCP" || r.kind == Resolution::Kind::Service);
        for (const auto& ep : r.endpoints) {
          check(ep.addr.ip.family == ip.family);
          check(ep.pod == nullptr || world.pod_by_name(ep.pod->ns, ep.pod->name) == ep.pod);
        }
      }
    }
  }
  for (const auto& pod : world.pods()) {
    check(world.pod_by_name(pod.ns, pod.name) == &pod);
    for (const auto& ip : pod.ips) {
      check(world.pod_by_ip(ip) != nullptr);
    }
  }
  world.resolve(SockAddr{*IpAddr::parse("10.96.0.10"), 80});
  world.resolve(SockAddr{*IpAddr::parse("::ffff:10.244.0.5"), 8080});
}

/// Builds a World from what decoded, or checks that the error is one line (errors are logged as
/// one line each).
void use(weft::Result<weft::discovery::Decoded> decoded) {
  if (!decoded) {
    check(decoded.error().message.find('\n') == std::string::npos);
    return;
  }
  auto world = weft::discovery::World::build(std::move(decoded->objects));
  exercise(*world);
}

/// The bytes as an API answer: a list page's items as Pods, a watch event's object, a Status.
void as_api_answer(std::string_view text) {
  auto doc = weft::discovery::parse_json("api", text);
  if (!doc) {
    return;
  }
  if (auto page = weft::kube::read_list(*doc)) {
    for (const auto* item : page->items) {
      weft::kube::object_key(*item);
      use(weft::discovery::decode_list_item(*item, "v1", "Pod", "LIST"));
    }
  }
  if (auto event = weft::kube::read_event(*doc)) {
    weft::kube::read_status(event->object);
    use(weft::discovery::decode_object(*event->object, "WATCH"));
  }
  weft::kube::read_status(text);
}

}  // namespace

// The same bytes as a manifest file (YAML) and as an API server's JSON: both parsers build the
// document tree one decoder reads.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  use(weft::discovery::decode_manifests("fuzz.yaml", text));
  use(weft::discovery::decode_json("fuzz.json", text));
  as_api_answer(text);
  return 0;
}
