// What every discovery fuzz target checks of the World it built from whatever decoded: each
// Service port resolves, endpoints point into the same World, pods are found by name and IP.
#pragma once

#include <string>

#include "agent/discovery/World.hpp"
#include "common/IpAddr.hpp"
#include "fuzz/Check.hpp"

namespace weft::fuzz {

inline void exercise(const discovery::World& world) {
  using discovery::Resolution;
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

}  // namespace weft::fuzz
