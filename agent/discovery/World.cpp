#include "agent/discovery/World.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <tuple>

#include "agent/discovery/Workload.hpp"

namespace weft::discovery {
namespace {

/// ::ffff:a.b.c.d (RFC 4291 2.5.5.2) is how a dual-stack socket sees an IPv4 peer; Services and
/// pods are indexed by their IPv4 form.
IpAddr unmapped(const IpAddr& ip) {
  static constexpr std::array<uint8_t, 12> kPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (ip.family != AF_INET6 || !std::equal(kPrefix.begin(), kPrefix.end(), ip.bytes.begin())) {
    return ip;
  }
  IpAddr v4;
  v4.family = AF_INET;
  std::copy(ip.bytes.begin() + 12, ip.bytes.end(), v4.bytes.begin());
  return v4;
}

bool endpoint_less(const Endpoint& a, const Endpoint& b) {
  return std::tie(a.addr.ip, a.addr.port) < std::tie(b.addr.ip, b.addr.port);
}

PodInfo info_of(Pod pod) {
  PodInfo info;
  info.workload = workload_name(pod);
  info.name = std::move(pod.name);
  info.ns = std::move(pod.ns);
  info.uid = std::move(pod.uid);
  info.service_account = std::move(pod.service_account);
  info.node_name = std::move(pod.node_name);
  info.labels = std::move(pod.labels);
  info.annotations = std::move(pod.annotations);
  info.ips = std::move(pod.ips);
  return info;
}

}  // namespace

std::shared_ptr<const World> World::build(std::vector<Object> objects) {
  // Not make_shared: the constructor is private so that every World is fully built once.
  std::shared_ptr<World> world(new World());
  world->populate(std::move(objects));
  return world;
}

std::shared_ptr<const World> World::empty() {
  return build({});
}

const std::size_t* World::find(const NameIndex& index, std::string_view ns, std::string_view name) {
  auto in_ns = index.find(ns);
  if (in_ns == index.end()) {
    return nullptr;
  }
  auto it = in_ns->second.find(name);
  return it == in_ns->second.end() ? nullptr : &it->second;
}

void World::populate(std::vector<Object> objects) {
  std::vector<EndpointSlice> slices = take_objects(std::move(objects));
  // services_ and the routes are final from here on: pointers into them stay valid.
  attach_routes();
  // policies_ is final from here on: pointers into it stay valid.
  for (const MeshPolicy& policy : policies_) {
    policies_by_ns_[policy.ns].push_back(&policy);
  }
  // Pod status is authoritative for addresses; slices only fill in pods it does not list.
  for (std::size_t i = 0; i < pods_.size(); ++i) {
    for (const IpAddr& ip : pods_[i].ips) {
      claim_ip(ip, i);
    }
  }
  const SlicePods endpoint_pods = pods_of_endpoints(slices);
  // pods_ is final from here on: pointers into it stay valid.
  index_service_ports(slices, endpoint_pods);
}

std::vector<EndpointSlice> World::take_objects(std::vector<Object> objects) {
  std::vector<EndpointSlice> slices;
  NameIndex slices_by_name;
  for (Object& object : objects) {
    if (auto* svc = std::get_if<Service>(&object)) {
      if (claim_name(services_by_name_, "Service", svc->ns, svc->name, services_.size())) {
        services_.push_back(std::move(*svc));
      }
    } else if (auto* pod = std::get_if<Pod>(&object)) {
      if (claim_name(pods_by_name_, "Pod", pod->ns, pod->name, pods_.size())) {
        pods_.push_back(info_of(std::move(*pod)));
      }
    } else if (auto* slice = std::get_if<EndpointSlice>(&object)) {
      if (claim_name(slices_by_name, "EndpointSlice", slice->ns, slice->name, slices.size())) {
        slices.push_back(std::move(*slice));
      }
    } else if (auto* policy = std::get_if<MeshPolicy>(&object)) {
      if (claim_name(policies_by_name_, "MeshPolicy", policy->ns, policy->name, policies_.size())) {
        policies_.push_back(std::move(*policy));
      }
    } else if (auto* http = std::get_if<HttpRoute>(&object)) {
      if (claim_name(http_routes_by_name_, "HTTPRoute", http->ns, http->name,
                     http_routes_.size())) {
        http_routes_.push_back(std::move(*http));
      }
    } else if (auto* grpc = std::get_if<GrpcRoute>(&object)) {
      if (claim_name(grpc_routes_by_name_, "GRPCRoute", grpc->ns, grpc->name,
                     grpc_routes_.size())) {
        grpc_routes_.push_back(std::move(*grpc));
      }
    }
  }
  return slices;
}

bool World::claim_name(NameIndex& index, std::string_view kind, const std::string& ns,
                       const std::string& name, std::size_t next) {
  auto [it, inserted] = index[ns].try_emplace(name, next);
  if (!inserted) {
    warnings_.push_back(fmt::format("duplicate {} {}/{}: the first one is used", kind, ns, name));
  }
  return inserted;
}

void World::claim_ip(const IpAddr& ip, std::size_t pod) {
  auto [it, inserted] = by_ip_.try_emplace(ip, pod);
  if (!inserted && it->second != pod) {
    const PodInfo& owner = pods_[it->second];
    const PodInfo& other = pods_[pod];
    warnings_.push_back(fmt::format("IP {} claimed by pod {}/{} and pod {}/{}: the first is used",
                                    ip.str(), owner.ns, owner.name, other.ns, other.name));
  }
}

World::SlicePods World::pods_of_endpoints(const std::vector<EndpointSlice>& slices) {
  SlicePods endpoint_pods(slices.size());
  for (std::size_t s = 0; s < slices.size(); ++s) {
    for (const SliceEndpoint& ep : slices[s].endpoints) {
      std::optional<std::size_t> pod;
      if (ep.target && ep.target->kind == "Pod") {
        pod = adopt_endpoint(ep);
      }
      endpoint_pods[s].push_back(pod);
    }
  }
  return endpoint_pods;
}

std::size_t World::adopt_endpoint(const SliceEndpoint& ep) {
  const std::size_t* known = find(pods_by_name_, ep.target->ns, ep.target->name);
  if (known == nullptr) {
    PodInfo info;
    info.name = ep.target->name;
    info.ns = ep.target->ns;
    info.service_account = "default";
    info.workload = ep.target->name;
    info.node_name = ep.node_name;
    info.synthesized = true;
    pods_by_name_[info.ns][info.name] = pods_.size();
    pods_.push_back(std::move(info));
    known = find(pods_by_name_, ep.target->ns, ep.target->name);
  }
  const std::size_t pod = *known;
  PodInfo& info = pods_[pod];
  for (const IpAddr& ip : ep.addresses) {
    if (std::find(info.ips.begin(), info.ips.end(), ip) == info.ips.end()) {
      info.ips.push_back(ip);
    }
    claim_ip(ip, pod);
  }
  return pod;
}

void World::index_service_ports(const std::vector<EndpointSlice>& slices,
                                const SlicePods& endpoint_pods) {
  StringMap<StringMap<std::vector<std::size_t>>> slices_of_service;
  for (std::size_t s = 0; s < slices.size(); ++s) {
    if (!slices[s].service_name.empty()) {
      slices_of_service[slices[s].ns][slices[s].service_name].push_back(s);
    }
  }

  const std::vector<std::size_t> no_slices;
  for (const Service& svc : services_) {
    const std::vector<std::size_t>* my_slices = &no_slices;
    if (auto ns = slices_of_service.find(svc.ns); ns != slices_of_service.end()) {
      if (auto it = ns->second.find(svc.name); it != ns->second.end()) {
        my_slices = &it->second;
      }
    }
    for (const ServicePort& port : svc.ports) {
      if (port.protocol != "TCP") {
        continue;  // the mesh carries TCP only
      }
      for (sa_family_t family : {AF_INET, AF_INET6}) {
        bool has_ip = std::any_of(svc.cluster_ips.begin(), svc.cluster_ips.end(),
                                  [family](const IpAddr& ip) { return ip.family == family; });
        if (!has_ip) {
          continue;
        }
        // Like kube-proxy, a ClusterIP is served by endpoints of its own family.
        std::vector<Endpoint> set =
            ready_endpoints(slices, endpoint_pods, *my_slices, port, family);
        note_app_protocol(set, port);
        std::size_t set_index = endpoint_sets_.size();
        endpoint_sets_.push_back(std::move(set));
        claim_cluster_ips(svc, port, family, set_index);
      }
    }
  }
}

std::vector<Endpoint> World::ready_endpoints(const std::vector<EndpointSlice>& slices,
                                             const SlicePods& endpoint_pods,
                                             const std::vector<std::size_t>& of_service,
                                             const ServicePort& port, sa_family_t family) const {
  std::vector<Endpoint> set;
  for (std::size_t s : of_service) {
    const EndpointSlice& slice = slices[s];
    for (const SlicePort& sp : slice.ports) {
      if (sp.name != port.name || sp.protocol != "TCP" || !sp.port) {
        continue;
      }
      for (std::size_t e = 0; e < slice.endpoints.size(); ++e) {
        const SliceEndpoint& ep = slice.endpoints[e];
        if (!ep.ready) {
          continue;
        }
        for (const IpAddr& ip : ep.addresses) {
          if (ip.family == family) {
            set.push_back(endpoint_at(ep, SockAddr{ip, *sp.port}, endpoint_pods[s][e]));
          }
        }
      }
    }
  }
  std::sort(set.begin(), set.end(), endpoint_less);
  set.erase(std::unique(set.begin(), set.end(),
                        [](const Endpoint& a, const Endpoint& b) { return a.addr == b.addr; }),
            set.end());
  return set;
}

Endpoint World::endpoint_at(const SliceEndpoint& ep, const SockAddr& addr,
                            std::optional<std::size_t> pod_index) const {
  Endpoint out;
  out.addr = addr;
  out.node_name = ep.node_name;
  const PodInfo* pod = pod_index ? &pods_[*pod_index] : pod_by_ip(addr.ip);
  if (pod != nullptr) {
    out.pod = pod;
    out.pod_name = pod->name;
    out.pod_namespace = pod->ns;
    if (out.node_name.empty()) {
      out.node_name = pod->node_name;
    }
  }
  return out;
}

void World::note_app_protocol(const std::vector<Endpoint>& set, const ServicePort& port) {
  for (const Endpoint& ep : set) {
    auto [it, inserted] =
        app_protocol_by_endpoint_.try_emplace(ep.addr, DeclaredProtocol{port.app_protocol});
    if (!inserted && it->second.app_protocol != port.app_protocol) {
      it->second.agreed = false;
    }
  }
}

void World::claim_cluster_ips(const Service& svc, const ServicePort& port, sa_family_t family,
                              std::size_t set_index) {
  for (const IpAddr& ip : svc.cluster_ips) {
    if (ip.family != family) {
      continue;
    }
    SockAddr key{ip, port.port};
    auto [it, inserted] = by_service_addr_.try_emplace(key, entries_.size());
    if (inserted) {
      entries_.push_back(PortEntry{&svc, &port, set_index});
    } else {
      const Service& owner = *entries_[it->second].service;
      warnings_.push_back(
          fmt::format("{} claimed by Service {}/{} and Service {}/{}: the first is used", key.str(),
                      owner.ns, owner.name, svc.ns, svc.name));
    }
  }
}

namespace {

uint64_t port_key(std::size_t service, uint16_t port) {
  return (static_cast<uint64_t>(service) << 16) | port;
}

}  // namespace

std::vector<const Route*>& World::PortRoutes::consumer(const std::string& ns) {
  auto it = std::find_if(consumers.begin(), consumers.end(),
                         [&ns](const auto& c) { return c.first == ns; });
  return it != consumers.end() ? it->second
                               : consumers.emplace_back(ns, std::vector<const Route*>{}).second;
}

void World::attach_routes() {
  for (const HttpRoute& route : http_routes_) {
    attach_route(route);
    check_backends(route);
  }
  for (const GrpcRoute& route : grpc_routes_) {
    attach_route(route);
    check_backends(route);
  }
  order_by_precedence();
  keep_one_route_type();
}

void World::attach_route(const Route& route) {
  for (const ParentRef& parent : route.parents) {
    if (!parent.is_service()) {
      if (parent.kind == "Service") {
        warnings_.push_back(fmt::format(
            "{} {}/{}: parentRef to Service {}/{} has group \"{}\" and attaches nowhere (a "
            "core Service needs group: \"\")",
            route.kind_name(), route.ns, route.name, parent.ns, parent.name, parent.group));
      }
      continue;  // a Gateway or another kind of parent: not the mesh's
    }
    const std::size_t* index = find(services_by_name_, parent.ns, parent.name);
    if (index == nullptr) {
      warnings_.push_back(fmt::format("{} {}/{}: parent Service {}/{} does not exist",
                                      route.kind_name(), route.ns, route.name, parent.ns,
                                      parent.name));
      continue;
    }
    if (!attach_at_ports(route, parent, *index)) {
      std::string wanted = parent.port ? fmt::format("port {}", *parent.port) : std::string();
      if (!parent.section_name.empty()) {
        wanted +=
            fmt::format("{}port named \"{}\"", wanted.empty() ? "" : " and ", parent.section_name);
      }
      warnings_.push_back(fmt::format("{} {}/{}: parent Service {}/{} has no {}", route.kind_name(),
                                      route.ns, route.name, parent.ns, parent.name, wanted));
    }
  }
}

bool World::attach_at_ports(const Route& route, const ParentRef& parent, std::size_t service) {
  bool attached = false;
  for (const ServicePort& port : services_[service].ports) {
    if ((parent.port && *parent.port != port.port) ||
        (!parent.section_name.empty() && parent.section_name != port.name)) {
      continue;
    }
    attached = true;
    PortRoutes& here = routes_by_port_[port_key(service, port.port)];
    std::vector<const Route*>& routes =
        route.ns == services_[service].ns ? here.producer : here.consumer(route.ns);
    if (std::find(routes.begin(), routes.end(), &route) == routes.end()) {
      routes.push_back(&route);
    }
  }
  return attached;
}

template <class R>
void World::check_backends(const R& route) {
  for (std::size_t r = 0; r < route.rules.size(); ++r) {
    const auto& backends = route.rules[r].backends;
    for (std::size_t b = 0; b < backends.size(); ++b) {
      const BackendRef& backend = backends[b];
      std::string where = fmt::format("{} {}/{} rules[{}].backendRefs[{}]", route.kind_name(),
                                      route.ns, route.name, r, b);
      const Service* svc = service_by_name(backend.ns, backend.name);
      if (!backend.is_service()) {
        warnings_.push_back(
            fmt::format("{}: backend kind {} (group \"{}\") is not supported; "
                        "requests sent to it fail",
                        where, backend.kind, backend.group));
      } else if (svc == nullptr) {
        warnings_.push_back(
            fmt::format("{}: Service {}/{} does not exist; requests sent to it "
                        "find no endpoints",
                        where, backend.ns, backend.name));
      } else if (backend.port && std::none_of(svc->ports.begin(), svc->ports.end(),
                                              [&backend](const ServicePort& p) {
                                                return p.port == *backend.port;
                                              })) {
        warnings_.push_back(
            fmt::format("{}: Service {}/{} has no port {}; requests sent to it "
                        "find no endpoints",
                        where, backend.ns, backend.name, *backend.port));
      }
    }
  }
}

void World::order_by_precedence() {
  auto by_precedence = [](std::vector<const Route*>& routes) {
    std::stable_sort(routes.begin(), routes.end(),
                     [](const Route* a, const Route* b) { return route_precedes(*a, *b); });
  };
  for (auto& [key, routes] : routes_by_port_) {
    by_precedence(routes.producer);
    for (auto& [ns, consumer] : routes.consumers) {
      by_precedence(consumer);
    }
  }
}

void World::keep_one_route_type() {
  // Service and port order (routes_by_port_ is unordered), so that the same objects always give
  // the same warnings().
  std::vector<uint64_t> keys;
  keys.reserve(routes_by_port_.size());
  for (const auto& [key, routes] : routes_by_port_) {
    keys.push_back(key);
  }
  std::sort(keys.begin(), keys.end());
  for (uint64_t key : keys) {
    const Service& service = services_[key >> 16];
    const auto port = static_cast<uint16_t>(key & 0xffff);
    auto keep_grpc = [&](std::vector<const Route*>& routes) {
      auto grpc = std::find_if(routes.begin(), routes.end(),
                               [](const Route* route) { return route->kind == Route::Kind::Grpc; });
      if (grpc == routes.end()) {
        return;
      }
      auto is_http = [](const Route* route) { return route->kind == Route::Kind::Http; };
      for (const Route* route : routes) {
        if (is_http(route)) {
          warnings_.push_back(fmt::format(
              "HTTPRoute {}/{} ignored at Service {}/{} port {}: GRPCRoute {}/{} attaches there "
              "(Gateway API GEP-1426: GRPCRoute wins over HTTPRoute)",
              route->ns, route->name, service.ns, service.name, port, (*grpc)->ns, (*grpc)->name));
        }
      }
      std::erase_if(routes, is_http);
    };
    PortRoutes& here = routes_by_port_.at(key);
    keep_grpc(here.producer);
    for (auto& [ns, consumer] : here.consumers) {
      keep_grpc(consumer);
    }
  }
}

std::span<const Route* const> World::routes_for(const Service& service, uint16_t port,
                                                std::string_view client_ns) const {
  std::size_t index = 0;
  if (!services_.empty() && &service >= services_.data() &&
      &service < services_.data() + services_.size()) {
    index = static_cast<std::size_t>(&service - services_.data());
  } else if (const std::size_t* known = find(services_by_name_, service.ns, service.name)) {
    index = *known;
  } else {
    return {};
  }
  auto it = routes_by_port_.find(port_key(index, port));
  if (it == routes_by_port_.end()) {
    return {};
  }
  for (const auto& [ns, consumer] : it->second.consumers) {
    if (ns == client_ns) {
      return consumer;
    }
  }
  return it->second.producer;
}

const HttpRoute* World::http_route_by_name(std::string_view ns, std::string_view name) const {
  const std::size_t* index = find(http_routes_by_name_, ns, name);
  return index == nullptr ? nullptr : &http_routes_[*index];
}

const GrpcRoute* World::grpc_route_by_name(std::string_view ns, std::string_view name) const {
  const std::size_t* index = find(grpc_routes_by_name_, ns, name);
  return index == nullptr ? nullptr : &grpc_routes_[*index];
}

Resolution World::resolve(const SockAddr& dst) const {
  SockAddr key{unmapped(dst.ip), dst.port};
  Resolution r;
  if (auto it = by_service_addr_.find(key); it != by_service_addr_.end()) {
    const PortEntry& entry = entries_[it->second];
    r.kind = Resolution::Kind::Service;
    r.service = entry.service;
    r.port = entry.port;
    r.endpoints = endpoint_sets_[entry.endpoint_set];
    return r;
  }
  if (const PodInfo* pod = pod_by_ip(key.ip)) {
    r.kind = Resolution::Kind::Pod;
    r.pod = pod;
  }
  return r;
}

std::string_view World::endpoint_app_protocol(const SockAddr& endpoint) const {
  auto it = app_protocol_by_endpoint_.find(SockAddr{unmapped(endpoint.ip), endpoint.port});
  if (it == app_protocol_by_endpoint_.end() || !it->second.agreed) {
    return {};
  }
  return it->second.app_protocol;
}

const PodInfo* World::pod_by_ip(const IpAddr& ip) const {
  auto it = by_ip_.find(unmapped(ip));
  return it == by_ip_.end() ? nullptr : &pods_[it->second];
}

const PodInfo* World::pod_by_name(std::string_view ns, std::string_view name) const {
  const std::size_t* index = find(pods_by_name_, ns, name);
  return index == nullptr ? nullptr : &pods_[*index];
}

const Service* World::service_by_name(std::string_view ns, std::string_view name) const {
  const std::size_t* index = find(services_by_name_, ns, name);
  return index == nullptr ? nullptr : &services_[*index];
}

std::vector<const MeshPolicy*> World::policies_for(const PodInfo& pod) const {
  std::vector<const MeshPolicy*> out;
  for (const MeshPolicy* policy : policies_in(pod.ns)) {
    if (policy->selects(pod.labels)) {
      out.push_back(policy);
    }
  }
  return out;
}

std::span<const MeshPolicy* const> World::policies_in(std::string_view ns) const {
  auto it = policies_by_ns_.find(ns);
  if (it == policies_by_ns_.end()) {
    return {};
  }
  return it->second;
}

const MeshPolicy* World::policy_by_name(std::string_view ns, std::string_view name) const {
  const std::size_t* index = find(policies_by_name_, ns, name);
  return index == nullptr ? nullptr : &policies_[*index];
}

std::size_t World::endpoint_count() const {
  std::size_t n = 0;
  for (const auto& set : endpoint_sets_) {
    n += set.size();
  }
  return n;
}

}  // namespace weft::discovery
