#include "agent/plan/FlowPlan.hpp"

#include <algorithm>

#include "agent/policy/Authorization.hpp"
#include "agent/redirect/MeshAbi.hpp"

namespace weft::proxy {
namespace {

/// Pods whose node agent owns a :15008 in them carry this annotation (set when meshed).
constexpr const char* kRedirectionAnnotation = "weft.io/redirection";

const discovery::PodInfo* pod_info(const NodeView& view, const agent::MeshedPod& pod) {
  return view.world ? view.world->pod_by_name(pod.ns(), pod.name()) : nullptr;
}

bool reachable_through_tunnel(const discovery::PodInfo* pod) {
  if (pod == nullptr) {
    return false;
  }
  auto it = pod->annotations.find(kRedirectionAnnotation);
  return it != pod->annotations.end() && it->second == "enabled";
}

/// Applies the destination pod's policy to `source_principal` (empty: unauthenticated).
std::string authorize(const NodeView& view, const discovery::PodInfo* destination,
                      std::string_view source_principal) {
  if (!view.world) {
    return {};
  }
  auto decision = policy::authorize(*view.world, destination, policy::Source{source_principal});
  return decision.allowed() ? std::string() : std::string(decision.reason());
}

}  // namespace

agent::WorkloadIdentity identity_of_local(const NodeView& view, const agent::MeshedPod& pod) {
  return agent::identity_of(pod_info(view, pod), pod.name(), pod.ns(), view.trust_domain);
}

agent::WorkloadIdentity identity_of_ip(const NodeView& view, const IpAddr& ip) {
  if (auto it = view.local_pods.find(ip); it != view.local_pods.end()) {
    return identity_of_local(view, *it->second);
  }
  const discovery::PodInfo* info = view.world ? view.world->pod_by_ip(ip) : nullptr;
  return agent::identity_of(info, {}, {}, view.trust_domain);
}

std::optional<FlowPlan> plan_outbound(const NodeView& view, const agent::MeshedPod& src,
                                      const SockAddr& original_dst, Balancer& balancer,
                                      std::span<const SockAddr> tried,
                                      Balancer::Clock::time_point now) {
  if (view.world) {
    discovery::Resolution r = view.world->resolve(original_dst);
    if (r.kind == discovery::Resolution::Kind::Service) {
      auto chosen = balancer.pick(std::span<const discovery::Endpoint>(r.endpoints), tried, now);
      if (!chosen) {
        return std::nullopt;
      }
      FlowPlan plan = plan_endpoint(view, src, r.endpoints[*chosen], *r.service, original_dst);
      plan.idle_timeout = !r.port->no_idle_timeout;
      return plan;
    }
    if (r.kind == discovery::Resolution::Kind::Pod) {
      return plan_to(view, src, original_dst, r.pod);
    }
  }
  return plan_to(view, src, original_dst, nullptr);
}

FlowPlan plan_endpoint(const NodeView& view, const agent::MeshedPod& src,
                       const discovery::Endpoint& endpoint, const discovery::Service& service,
                       const SockAddr& service_address) {
  FlowPlan plan = plan_to(view, src, endpoint.addr, endpoint.pod, service.fqdn());
  plan.service_address = service_address;
  return plan;
}

FlowPlan plan_to(const NodeView& view, const agent::MeshedPod& src, const SockAddr& target,
                 const discovery::PodInfo* dst_pod, std::string destination_service) {
  FlowPlan plan;
  plan.labels.reporter = "source";
  plan.labels.source = identity_of_local(view, src);
  plan.labels.destination_service = std::move(destination_service);
  plan.target = target;
  if (auto local = view.local_pods.find(plan.target.ip); local != view.local_pods.end()) {
    // Both ends are this agent's: no wire to encrypt, but the agent itself vouches for both
    // identities, so the flow is authorized and labelled as mutually authenticated.
    plan.labels.destination = identity_of_local(view, *local->second);
    plan.labels.security_policy = "mutual_tls";
    plan.denied = authorize(view, pod_info(view, *local->second), plan.labels.source.principal);
    agent::FlowLabels dest = plan.labels;
    dest.reporter = "destination";
    plan.local_destination_labels = std::move(dest);
    return plan;
  }
  plan.labels.destination = dst_pod != nullptr
                                ? agent::identity_of(dst_pod, {}, {}, view.trust_domain)
                                : identity_of_ip(view, plan.target.ip);
  if (reachable_through_tunnel(dst_pod)) {
    plan.route = FlowPlan::Route::Tunnel;
    plan.expected_peer = plan.labels.destination.principal;
    auto own = std::find_if(src.ips.begin(), src.ips.end(),
                            [&](const IpAddr& ip) { return ip.family == plan.target.ip.family; });
    if (own != src.ips.end()) {
      plan.client_ip = *own;
    }
    plan.labels.security_policy = "mutual_tls";
  }
  return plan;
}

FlowPlan plan_inbound(const NodeView& view, const agent::MeshedPod& dst, const SockAddr& peer,
                      const SockAddr& local) {
  FlowPlan plan;
  plan.target = local;
  plan.labels.reporter = "destination";
  plan.labels.source = identity_of_ip(view, peer.ip);
  // Plaintext proves nothing about who is calling: the source's identity is a label, never a
  // principal policy could trust.
  plan.labels.source.principal = "unknown";
  plan.labels.destination = identity_of_local(view, dst);
  plan.client_ip = peer.ip;
  plan.denied = authorize(view, pod_info(view, dst), {});
  return plan;
}

std::optional<FlowPlan> plan_tunnel_inbound(const NodeView& view, const agent::MeshedPod& dst,
                                            const TunnelRequest& req,
                                            const std::string& source_principal) {
  const SockAddr& target = req.target;
  bool own_ip = std::find(dst.ips.begin(), dst.ips.end(), target.ip) != dst.ips.end();
  bool weft_port = target.port == WEFT_OUTBOUND_PORT || target.port == WEFT_INBOUND_PORT ||
                   target.port == WEFT_TUNNEL_PORT;
  if (!own_ip || weft_port) {
    return std::nullopt;
  }
  FlowPlan plan;
  plan.idle_timeout = false;  // the source's agent keeps the limit, knowing the Service port
  plan.target = target;
  plan.labels.reporter = "destination";
  auto claimed = identity_of_ip(view, req.claimed_client);
  if (claimed.principal == source_principal) {
    plan.labels.source = std::move(claimed);
    plan.client_ip = req.claimed_client;
  } else {
    plan.labels.source.principal = source_principal;  // proven by the peer's certificate
  }
  if (req.service_address && view.world) {
    discovery::Resolution r = view.world->resolve(*req.service_address);
    bool serves_target =
        std::any_of(r.endpoints.begin(), r.endpoints.end(),
                    [&](const discovery::Endpoint& ep) { return ep.addr == target; });
    if (r.kind == discovery::Resolution::Kind::Service && serves_target) {
      plan.labels.destination_service = r.service->fqdn();
    }
  }
  plan.labels.destination = identity_of_local(view, dst);
  plan.labels.security_policy = "mutual_tls";
  plan.denied = authorize(view, pod_info(view, dst), source_principal);
  return plan;
}

}  // namespace weft::proxy
