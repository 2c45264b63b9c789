#include "agent/proxy/FlowPlan.hpp"

namespace weft::proxy {
namespace {

agent::WorkloadIdentity identity_of_local(const NodeView& view, const agent::MeshedPod& pod) {
  const discovery::PodInfo* info =
      view.world ? view.world->pod_by_name(pod.ns(), pod.name()) : nullptr;
  return agent::identity_of(info, pod.name(), pod.ns(), view.trust_domain);
}

/// Identity of whatever owns `ip`: a pod meshed here, else a pod discovery knows, else unknown.
agent::WorkloadIdentity identity_of_ip(const NodeView& view, const IpAddr& ip,
                                       const discovery::PodInfo* hint) {
  if (hint != nullptr) {
    return agent::identity_of(hint, {}, {}, view.trust_domain);
  }
  if (auto it = view.local_pods.find(ip); it != view.local_pods.end()) {
    return identity_of_local(view, *it->second);
  }
  const discovery::PodInfo* info = view.world ? view.world->pod_by_ip(ip) : nullptr;
  return agent::identity_of(info, {}, {}, view.trust_domain);
}

}  // namespace

std::optional<FlowPlan> plan_outbound(const NodeView& view, const agent::MeshedPod& src,
                                      const SockAddr& original_dst, Balancer& balancer) {
  FlowPlan plan;
  plan.labels.reporter = "source";
  plan.labels.source = identity_of_local(view, src);
  plan.target = original_dst;
  const discovery::PodInfo* dst_pod = nullptr;
  if (view.world) {
    discovery::Resolution r = view.world->resolve(original_dst);
    if (r.kind == discovery::Resolution::Kind::Service) {
      if (r.endpoints.empty()) {
        return std::nullopt;
      }
      const discovery::Endpoint& ep = r.endpoints[balancer.pick(r.endpoints)];
      plan.target = ep.addr;
      plan.labels.destination_service = r.service->fqdn();
      dst_pod = ep.pod;
    } else if (r.kind == discovery::Resolution::Kind::Pod) {
      dst_pod = r.pod;
    }
  }
  plan.labels.destination = identity_of_ip(view, plan.target.ip, dst_pod);
  if (view.local_pods.contains(plan.target.ip)) {
    agent::FlowLabels dest = plan.labels;
    dest.reporter = "destination";
    plan.local_destination_labels = std::move(dest);
  }
  return plan;
}

FlowPlan plan_inbound(const NodeView& view, const agent::MeshedPod& dst, const SockAddr& peer,
                      const SockAddr& local) {
  FlowPlan plan;
  plan.target = local;
  plan.labels.reporter = "destination";
  plan.labels.source = identity_of_ip(view, peer.ip, nullptr);
  plan.labels.destination = identity_of_local(view, dst);
  return plan;
}

}  // namespace weft::proxy
