#include "agent/discovery/CoreDecoder.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <utility>
#include <vector>

#include "agent/discovery/Text.hpp"

namespace weft::discovery::detail {
namespace {

constexpr std::string_view kServiceNameLabel = "kubernetes.io/service-name";

/// A Service's spec.clusterIP or clusterIPs[i]: an address, "None" (headless) or "" (unset).
void add_cluster_ip(FieldReader& r, const Field& field, std::vector<IpAddr>& out) {
  std::string text = r.text(field);
  if (!r.ok() || text.empty() || text == "None") {
    return;
  }
  auto ip = IpAddr::parse(text);
  if (!ip) {
    r.fail(field.path,
           fmt::format("expected an IP address or \"None\", got {}", quoted_excerpt(text)));
    return;
  }
  if (std::find(out.begin(), out.end(), *ip) == out.end()) {
    out.push_back(*ip);
  }
}

std::string read_protocol(FieldReader& r, const Field& field) {
  std::string protocol = r.text(field, "TCP");
  if (r.ok() && protocol != "TCP" && protocol != "UDP" && protocol != "SCTP") {
    r.fail(field.path, fmt::format("expected TCP, UDP or SCTP, got {}", quoted_excerpt(protocol)));
  }
  return protocol;
}

/// An IANA service name as Kubernetes requires for named ports: at most 15 of [a-z0-9-], at
/// least one letter, no leading, trailing or doubled '-'.
bool is_port_name(std::string_view text) {
  if (text.empty() || text.size() > 15 || text.front() == '-' || text.back() == '-' ||
      text.find("--") != std::string_view::npos) {
    return false;
  }
  bool letter = false;
  for (char c : text) {
    if (c >= 'a' && c <= 'z') {
      letter = true;
    } else if (!(c >= '0' && c <= '9') && c != '-') {
      return false;
    }
  }
  return letter;
}

/// targetPort is an IntOrString: a number or the name of a container port.
std::string read_target_port(FieldReader& r, const Field& field, uint16_t port) {
  if (!field.present) {
    return std::to_string(port);  // the API defaults targetPort to port
  }
  if (r.is_integer(field)) {
    return std::to_string(r.port(field));
  }
  std::string text = r.text(field);
  if (!r.ok()) {
    return {};
  }
  unsigned number = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  bool numeric = ec == std::errc{} && ptr == text.data() + text.size();
  if (numeric && number >= 1 && number <= 65535) {
    return std::to_string(number);  // "8080" quoted: same meaning, one spelling
  }
  if (numeric || !is_port_name(text)) {
    r.fail(field.path, fmt::format("expected a port number 1-65535 or a port name, got {}",
                                   quoted_excerpt(text)));
    return {};
  }
  return text;
}

}  // namespace

Meta read_meta(FieldReader& r, const Field& root) {
  Field metadata = r.at(root, "metadata");
  Meta meta;
  meta.name = r.name(r.at(metadata, "name"));
  if (r.ok() && meta.name.empty()) {
    r.fail("metadata.name", "required");
  }
  Field ns = r.at(metadata, "namespace");
  meta.ns = r.text(ns, "default");
  if (r.ok() && !detail::is_dns_label(meta.ns)) {
    r.fail(ns.path, fmt::format("expected a DNS-1123 label, got {}", quoted_excerpt(meta.ns)));
  }
  return meta;
}

/// The Service's weft.io/no-idle-timeout-ports annotation ("5432, 6379"): each must be one of
/// its ports, so that a typo is an error instead of a silently idle-closed connection.
void read_no_idle_timeout_ports(FieldReader& r, const Field& metadata, Service& svc) {
  constexpr std::string_view kAnnotation = "weft.io/no-idle-timeout-ports";
  auto annotations = r.string_map(r.at(metadata, "annotations"));
  auto it = annotations.find(std::string(kAnnotation));
  if (it == annotations.end() || !r.ok()) {
    return;
  }
  std::string path = fmt::format("metadata.annotations.{}", kAnnotation);
  std::string_view rest = it->second;
  while (!rest.empty()) {
    std::size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    while (!item.empty() && item.front() == ' ') {
      item.remove_prefix(1);
    }
    while (!item.empty() && item.back() == ' ') {
      item.remove_suffix(1);
    }
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    unsigned number = 0;
    auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), number);
    auto port = std::find_if(svc.ports.begin(), svc.ports.end(),
                             [&](const ServicePort& p) { return p.port == number; });
    if (item.empty() || ec != std::errc() || end != item.data() + item.size() ||
        port == svc.ports.end()) {
      r.fail(path, fmt::format("expected ports of this Service separated by commas, got {}",
                               quoted_excerpt(item)));
      return;
    }
    port->no_idle_timeout = true;
  }
}

Service read_service(FieldReader& r, const Field& root, Meta meta) {
  Service svc;
  svc.name = std::move(meta.name);
  svc.ns = std::move(meta.ns);
  svc.labels = r.string_map(r.at(r.at(root, "metadata"), "labels"));
  Field spec = r.at(root, "spec");
  add_cluster_ip(r, r.at(spec, "clusterIP"), svc.cluster_ips);
  for (const Field& f : r.items(r.at(spec, "clusterIPs"))) {
    add_cluster_ip(r, f, svc.cluster_ips);
  }
  std::vector<Field> ports = r.items(r.at(spec, "ports"));
  for (const Field& f : ports) {
    ServicePort port;
    Field name = r.at(f, "name");
    port.name = r.text(name);
    if (r.ok() && !port.name.empty() && !detail::is_dns_label(port.name)) {
      r.fail(name.path,
             fmt::format("expected a DNS-1123 label, got {}", quoted_excerpt(port.name)));
    }
    if (r.ok() && port.name.empty() && ports.size() > 1) {
      // Slices find their Service port by name; two unnamed ports would be ambiguous.
      r.fail(name.path, "required when a Service has more than one port");
    }
    port.port = r.port(r.at(f, "port"));
    port.target_port = read_target_port(r, r.at(f, "targetPort"), port.port);
    port.protocol = read_protocol(r, r.at(f, "protocol"));
    port.app_protocol = r.text(r.at(f, "appProtocol"));
    if (!r.ok()) {
      break;
    }
    for (const ServicePort& other : svc.ports) {
      if (other.name == port.name) {
        r.fail(name.path, fmt::format("duplicate port name {}", quoted_excerpt(port.name)));
      } else if (other.port == port.port && other.protocol == port.protocol) {
        r.fail(f.path, fmt::format("duplicate port {}/{}", port.port, port.protocol));
      }
    }
    svc.ports.push_back(std::move(port));
  }
  read_no_idle_timeout_ports(r, r.at(root, "metadata"), svc);
  return svc;
}

std::optional<EndpointSlice> read_slice(FieldReader& r, const Field& root, Meta meta) {
  EndpointSlice slice;
  slice.name = std::move(meta.name);
  slice.ns = std::move(meta.ns);
  auto labels = r.string_map(r.at(r.at(root, "metadata"), "labels"));
  if (auto it = labels.find(std::string(kServiceNameLabel)); it != labels.end()) {
    slice.service_name = it->second;
  }
  Field type = r.at(root, "addressType");
  slice.address_type = r.required_text(type);
  if (!r.ok()) {
    return std::nullopt;
  }
  if (slice.address_type == "FQDN") {
    return std::nullopt;
  }
  if (slice.address_type != "IPv4" && slice.address_type != "IPv6") {
    r.fail(type.path,
           fmt::format("expected IPv4, IPv6 or FQDN, got {}", quoted_excerpt(slice.address_type)));
    return std::nullopt;
  }
  sa_family_t family = slice.address_type == "IPv4" ? AF_INET : AF_INET6;
  for (const Field& f : r.items(r.at(root, "endpoints"))) {
    SliceEndpoint ep;
    Field addresses = r.at(f, "addresses");
    for (const Field& a : r.items(addresses)) {
      std::string text = r.text(a);
      auto ip = IpAddr::parse(text);
      if (r.ok() && (!ip || ip->family != family)) {
        r.fail(a.path, fmt::format("expected an {} address, got {}", slice.address_type,
                                   detail::describe(*a.node)));
      }
      if (ip && r.ok()) {
        ep.addresses.push_back(*ip);
      }
    }
    if (r.ok() && ep.addresses.empty()) {
      r.fail(addresses.path, "required (at least one address)");
    }
    ep.ready = r.boolean(r.at(r.at(f, "conditions"), "ready")).value_or(true);
    Field target = r.at(f, "targetRef");
    if (target.present) {
      ObjectReference ref;
      ref.kind = r.text(r.at(target, "kind"));
      ref.name = r.name(r.at(target, "name"));
      if (r.ok() && ref.name.empty()) {
        r.fail(target.path + ".name", "required");
      }
      ref.ns = r.name(r.at(target, "namespace"), slice.ns);
      ep.target = std::move(ref);
    }
    ep.node_name = r.name(r.at(f, "nodeName"));
    if (!r.ok()) {
      return std::nullopt;
    }
    slice.endpoints.push_back(std::move(ep));
  }
  for (const Field& f : r.items(r.at(root, "ports"))) {
    SlicePort port;
    port.name = r.text(r.at(f, "name"));
    Field number = r.at(f, "port");
    if (number.present) {
      port.port = r.port(number);
    }
    port.protocol = read_protocol(r, r.at(f, "protocol"));
    slice.ports.push_back(std::move(port));
  }
  return slice;
}

Pod read_pod(FieldReader& r, const Field& root, Meta meta) {
  Pod pod;
  pod.name = std::move(meta.name);
  pod.ns = std::move(meta.ns);
  Field metadata = r.at(root, "metadata");
  pod.uid = r.text(r.at(metadata, "uid"));
  pod.labels = r.string_map(r.at(metadata, "labels"));
  pod.annotations = r.string_map(r.at(metadata, "annotations"));
  for (const Field& f : r.items(r.at(metadata, "ownerReferences"))) {
    OwnerReference owner;
    owner.kind = r.required_text(r.at(f, "kind"));
    Field name = r.at(f, "name");
    owner.name = r.name(name);
    if (r.ok() && owner.name.empty()) {
      r.fail(name.path, "required");
    }
    owner.controller = r.boolean(r.at(f, "controller")).value_or(false);
    pod.owners.push_back(std::move(owner));
  }
  Field spec = r.at(root, "spec");
  // serviceAccount is the deprecated spelling; the API server still fills one from the other.
  std::string legacy_sa = r.name(r.at(spec, "serviceAccount"), "default");
  pod.service_account = r.name(r.at(spec, "serviceAccountName"), legacy_sa);
  pod.node_name = r.name(r.at(spec, "nodeName"));
  Field status = r.at(root, "status");
  auto add_ip = [&pod](std::optional<IpAddr> ip) {
    if (ip && std::find(pod.ips.begin(), pod.ips.end(), *ip) == pod.ips.end()) {
      pod.ips.push_back(*ip);
    }
  };
  add_ip(r.ip(r.at(status, "podIP")));
  for (const Field& f : r.items(r.at(status, "podIPs"))) {
    add_ip(r.ip(r.at(f, "ip")));
  }
  return pod;
}

}  // namespace weft::discovery::detail
