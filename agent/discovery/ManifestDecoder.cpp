#include "agent/discovery/ManifestDecoder.hpp"

#include <fmt/format.h>
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <exception>
#include <initializer_list>
#include <optional>
#include <sstream>

#include "agent/discovery/FieldReader.hpp"
#include "agent/discovery/SpiffeId.hpp"
#include "agent/discovery/Text.hpp"

namespace weft::discovery {
namespace {

using detail::Field;
using detail::FieldReader;

constexpr std::string_view kServiceNameLabel = "kubernetes.io/service-name";
/// weft's own API group; every kind and version in it must be one this decoder reads.
constexpr std::string_view kSecurityGroup = "security.weft.io";
constexpr std::string_view kSecurityVersion = "security.weft.io/v1alpha1";

/// Thrown only inside this file, from the parser's callbacks, and caught in decode_manifests().
struct TooLarge {
  std::string reason;
};

/// First parser pass: counts documents and nodes so that a small hostile file cannot make
/// yaml-cpp build a huge tree (a yaml-cpp node costs a few hundred bytes).
class SizeCheck final : public YAML::EventHandler {
 public:
  explicit SizeCheck(const DecodeLimits& limits) : limits_(limits) {}

  void OnDocumentStart(const YAML::Mark&) override {
    if (++documents_ > limits_.max_documents) {
      throw TooLarge{fmt::format("more than {} documents", limits_.max_documents)};
    }
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override { node(); }
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override { node(); }
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {
    node();
  }
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    node();
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    node();
  }
  void OnMapEnd() override {}

 private:
  void node() {
    if (++nodes_ > limits_.max_nodes) {
      throw TooLarge{fmt::format("more than {} YAML nodes", limits_.max_nodes)};
    }
  }

  const DecodeLimits& limits_;
  std::size_t documents_ = 0;
  std::size_t nodes_ = 0;
};

/// State shared by every object of one input.
struct DecodeState {
  const DecodeLimits& limits;
  std::size_t visits_left;
  Decoded out;
};

/// The kind an item of a typed list (PodList, ServiceList...) has when it omits kind/apiVersion,
/// as items of API list responses do.
struct ItemDefaults {
  std::string api_version;
  std::string kind;
};

std::string object_label(std::string_view kind, std::string_view ns, std::string_view name) {
  if (name.empty()) {
    return std::string(kind);
  }
  return fmt::format("{} {}/{}", kind, ns, name);
}

/// A kind as written, for messages: bare when it is a plain identifier ("PodList"), else quoted,
/// escaped and cut (it is untrusted text and a message is one line).
std::string shown_kind(std::string_view kind) {
  bool plain =
      !kind.empty() && kind.size() <= 64 && std::all_of(kind.begin(), kind.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
      });
  return plain ? std::string(kind) : quoted_excerpt(kind);
}

struct Meta {
  std::string name;
  std::string ns;
};

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
  return svc;
}

/// nullopt when the slice is of a kind the mesh ignores (addressType FQDN).
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
                                   detail::describe(a.node)));
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

/// Fails on a key of `map` that is not in `known` or that appears twice: in a security object an
/// ignored typo ("alow:") could silently widen access. Call after an at() on the same map, which
/// has charged its size to the budget.
void only_known_keys(FieldReader& r, const Field& map,
                     std::initializer_list<std::string_view> known) {
  if (!r.ok() || !map.present || !map.node.IsMap()) {
    return;
  }
  std::vector<std::string_view> seen;
  for (auto it = map.node.begin(); it != map.node.end(); ++it) {
    if (!it->first.IsScalar()) {
      r.fail(map.path, fmt::format("expected string keys, got {}", detail::describe(it->first)));
      return;
    }
    std::string_view key = it->first.Scalar();
    bool is_known = std::find(known.begin(), known.end(), key) != known.end();
    // An unknown key is untrusted text: quoted, escaped and cut like any offending value.
    std::string shown = is_known ? std::string(key) : fmt::format("[{}]", quoted_excerpt(key));
    std::string path =
        map.path.empty() || !is_known ? map.path + shown : fmt::format("{}.{}", map.path, shown);
    if (!is_known) {
      std::string names;
      for (std::string_view k : known) {
        names += names.empty() ? "" : ", ";
        names += k;
      }
      r.fail(path, fmt::format("unknown field (expected one of: {})", names));
      return;
    }
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
      r.fail(path, "duplicate field");
      return;
    }
    seen.push_back(key);
  }
}

MeshPolicy::Mode read_mode(FieldReader& r, const Field& field) {
  std::string mode = r.text(field, "PERMISSIVE");
  if (r.ok() && mode == "STRICT") {
    return MeshPolicy::Mode::Strict;
  }
  if (r.ok() && mode != "PERMISSIVE") {
    r.fail(field.path, fmt::format("expected STRICT or PERMISSIVE, got {}", quoted_excerpt(mode)));
  }
  return MeshPolicy::Mode::Permissive;
}

AllowRule read_allow(FieldReader& r, const Field& allow) {
  AllowRule rule;
  Field principals = r.at(allow, "principals");
  for (const Field& f : r.items(principals)) {
    std::string principal = r.required_text(f);
    if (r.ok() && principal != "*" && !parse_workload_spiffe_id(principal)) {
      r.fail(f.path, fmt::format("expected \"*\" or a SPIFFE ID "
                                 "spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>, "
                                 "got {}",
                                 quoted_excerpt(principal)));
    }
    if (!r.ok()) {
      return rule;
    }
    rule.principals.push_back(std::move(principal));
  }
  for (const Field& f : r.items(r.at(allow, "namespaces"))) {
    std::string ns = r.required_text(f);
    if (r.ok() && !detail::is_dns_label(ns)) {
      r.fail(f.path,
             fmt::format("expected a namespace name (DNS-1123 label), got {}", quoted_excerpt(ns)));
    }
    if (!r.ok()) {
      return rule;
    }
    rule.namespaces.push_back(std::move(ns));
  }
  only_known_keys(r, allow, {"principals", "namespaces"});
  return rule;
}

/// A MeshPolicy; every field under spec is checked, unknown ones included (see only_known_keys).
MeshPolicy read_mesh_policy(FieldReader& r, const Field& root, Meta meta) {
  MeshPolicy policy;
  policy.name = std::move(meta.name);
  policy.ns = std::move(meta.ns);
  Field spec = r.at(root, "spec");
  Field selector = r.at(spec, "selector");
  Field match_labels = r.at(selector, "matchLabels");
  policy.match_labels = r.string_map(match_labels);
  if (r.ok() && r.at(selector, "matchExpressions").present) {
    r.fail(selector.path + ".matchExpressions", "not supported; use matchLabels");
  }
  only_known_keys(r, selector, {"matchLabels"});
  policy.mode = read_mode(r, r.at(spec, "mode"));
  Field allow = r.at(spec, "allow");
  if (allow.present) {
    policy.allow = read_allow(r, allow);
  }
  only_known_keys(r, spec, {"selector", "mode", "allow"});
  only_known_keys(r, root, {"apiVersion", "kind", "metadata", "spec", "status"});
  return policy;
}

bool is_typed_list(std::string_view kind) {
  return kind.size() > 4 && kind.ends_with("List");
}

/// Decodes one object (or list) node into `state.out`; returns the error message, if any.
std::optional<std::string> decode_node(DecodeState& state, const YAML::Node& node,
                                       const std::string& where, bool in_list,
                                       const ItemDefaults* defaults) {
  FieldReader r(state.visits_left);
  Field root = r.root(node);
  if (!root.present) {
    return std::nullopt;  // an empty document, e.g. after a trailing "---"
  }
  if (!node.IsMap()) {
    return fmt::format("{}: expected a Kubernetes object (a map), got {}", where,
                       detail::describe(node));
  }
  std::string api_version = r.text(r.at(root, "apiVersion"), defaults ? defaults->api_version : "");
  std::string kind = r.text(r.at(root, "kind"), defaults ? defaults->kind : "");
  if (r.ok() && kind.empty()) {
    r.fail("kind", "required");
  }
  if (r.ok() && api_version.empty()) {
    r.fail("apiVersion", "required");
  }
  if (!r.ok()) {
    return fmt::format("{}: {}", where, r.error());
  }

  bool core = api_version == "v1";
  bool discovery = api_version == "discovery.k8s.io/v1";
  bool security = api_version == kSecurityVersion;
  if (api_version.starts_with(fmt::format("{}/", kSecurityGroup))) {
    // Never skip an object of our own security group: a policy the agent did not read would
    // leave pods open without a word.
    if (!security || (kind != "MeshPolicy" && kind != "MeshPolicyList")) {
      return fmt::format("{} ({}): apiVersion {} is not supported (expected {} MeshPolicy)", where,
                         shown_kind(kind), quoted_excerpt(api_version), kSecurityVersion);
    }
  }
  if (kind == "List" || (is_typed_list(kind) && (core || discovery || security))) {
    if (in_list) {
      return fmt::format("{} ({}): a list inside a list", where, shown_kind(kind));
    }
    ItemDefaults item;
    if (kind != "List") {
      item = {api_version, kind.substr(0, kind.size() - 4)};
    }
    std::vector<Field> items = r.items(r.at(root, "items"));
    if (!r.ok()) {
      return fmt::format("{} ({}): {}", where, kind, r.error());
    }
    for (std::size_t i = 0; i < items.size(); ++i) {
      auto error = decode_node(state, items[i].node, fmt::format("{} {}", where, items[i].path),
                               true, kind == "List" ? nullptr : &item);
      if (error) {
        return error;
      }
    }
    return std::nullopt;
  }
  if (!(core && (kind == "Service" || kind == "Pod")) && !(discovery && kind == "EndpointSlice") &&
      !security) {
    ++state.out.ignored;
    return std::nullopt;
  }

  Meta meta = read_meta(r, root);
  std::string label = r.ok() ? object_label(kind, meta.ns, meta.name) : kind;
  if (state.out.objects.size() >= state.limits.max_objects) {
    r.fail("", fmt::format("more than {} objects", state.limits.max_objects));
  } else if (kind == "Service") {
    Service svc = read_service(r, root, std::move(meta));
    if (r.ok()) {
      state.out.objects.emplace_back(std::move(svc));
    }
  } else if (kind == "Pod") {
    Pod pod = read_pod(r, root, std::move(meta));
    if (r.ok()) {
      state.out.objects.emplace_back(std::move(pod));
    }
  } else if (security) {
    MeshPolicy policy = read_mesh_policy(r, root, std::move(meta));
    if (r.ok()) {
      state.out.objects.emplace_back(std::move(policy));
    }
  } else {
    auto slice = read_slice(r, root, std::move(meta));
    if (slice && r.ok()) {
      state.out.objects.emplace_back(std::move(*slice));
    } else if (r.ok()) {
      ++state.out.ignored;
    }
  }
  if (!r.ok()) {
    return fmt::format("{} ({}): {}", where, label, r.error());
  }
  return std::nullopt;
}

/// " at line L, column C" for a parser error, or nothing when yaml-cpp gives no position.
std::string position(const YAML::Mark& mark) {
  if (mark.is_null()) {
    return {};
  }
  return fmt::format(" at line {}, column {}", mark.line + 1, mark.column + 1);
}

Error protocol_error(std::string message) {
  return make_error(Error::Kind::Protocol, std::move(message));
}

}  // namespace

Result<Decoded> decode_manifests(std::string_view source, std::string_view bytes,
                                 const DecodeLimits& limits) {
  if (bytes.size() > limits.max_bytes) {
    return std::unexpected(
        protocol_error(fmt::format("{}: {} bytes is more than the limit of {} bytes", source,
                                   bytes.size(), limits.max_bytes)));
  }
  try {
    std::string text(bytes);
    {
      std::istringstream in(text);
      YAML::Parser parser(in);
      SizeCheck check(limits);
      while (parser.HandleNextDocument(check)) {
      }
    }
    std::vector<YAML::Node> documents = YAML::LoadAll(text);
    DecodeState state{limits, limits.max_visits, {}};
    for (std::size_t i = 0; i < documents.size(); ++i) {
      auto error =
          decode_node(state, documents[i], fmt::format("document {}", i + 1), false, nullptr);
      if (error) {
        return std::unexpected(protocol_error(fmt::format("{}: {}", source, *error)));
      }
    }
    return std::move(state.out);
  } catch (const TooLarge& e) {
    return std::unexpected(protocol_error(fmt::format("{}: too large: {}", source, e.reason)));
  } catch (const YAML::DeepRecursion& e) {
    return std::unexpected(
        protocol_error(fmt::format("{}: invalid YAML{}: nested deeper than {} levels", source,
                                   position(e.mark), e.depth() - 1)));
  } catch (const YAML::Exception& e) {
    return std::unexpected(protocol_error(
        fmt::format("{}: invalid YAML{}: {}", source, position(e.mark), escape(e.msg))));
  } catch (const std::exception& e) {
    return std::unexpected(protocol_error(fmt::format("{}: {}", source, escape(e.what()))));
  }
}

Result<Decoded> decode_object(const YAML::Node& object, std::string_view source,
                              const DecodeLimits& limits) {
  try {
    DecodeState state{limits, limits.max_visits, {}};
    if (auto error = decode_node(state, object, std::string(source), false, nullptr)) {
      return std::unexpected(protocol_error(std::move(*error)));
    }
    return std::move(state.out);
  } catch (const std::exception& e) {
    return std::unexpected(protocol_error(fmt::format("{}: {}", source, escape(e.what()))));
  }
}

}  // namespace weft::discovery
