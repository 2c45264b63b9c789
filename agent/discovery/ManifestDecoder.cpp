#include "agent/discovery/ManifestDecoder.hpp"

#include <fmt/format.h>
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <exception>
#include <initializer_list>
#include <optional>
#include <sstream>
#include <utility>

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
/// The Gateway API version whose HTTPRoute and GRPCRoute the decoder reads.
constexpr std::string_view kGatewayVersion = "gateway.networking.k8s.io/v1";

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
  std::size_t regex_program_left;  ///< see DecodeLimits::max_regex_program_size
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

// ---- Gateway API routes ----

/// Gateway API's MaxItems: fails when `list` has more than `max` entries.
std::vector<Field> bounded_items(FieldReader& r, const Field& list, std::size_t max) {
  std::vector<Field> items = r.items(list);
  if (r.ok() && items.size() > max) {
    r.fail(list.path, fmt::format("at most {} entries, got {}", max, items.size()));
    items.clear();
  }
  return items;
}

/// Fails when `text` is longer than `max` bytes (Gateway API's MaxLength).
void check_length(FieldReader& r, const Field& field, std::string_view text, std::size_t max) {
  if (r.ok() && text.size() > max) {
    r.fail(field.path, fmt::format("at most {} bytes, got {}", max, text.size()));
  }
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  });
  return out;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/// A namespace reference (DNS-1123 label); `fallback` when absent.
std::string read_namespace(FieldReader& r, const Field& field, std::string_view fallback) {
  std::string ns = r.text(field, fallback);
  if (field.present && r.ok() && !detail::is_dns_label(ns)) {
    r.fail(field.path, fmt::format("expected a DNS-1123 label, got {}", quoted_excerpt(ns)));
  }
  return ns;
}

/// Gateway API Group: empty (the core group) or a DNS subdomain.
std::string read_group(FieldReader& r, const Field& field, std::string_view fallback) {
  std::string group = r.text(field, fallback);
  if (field.present && r.ok() && !group.empty() && !detail::is_dns_subdomain(group)) {
    r.fail(field.path, fmt::format("expected an API group (\"\" or a DNS-1123 subdomain), got {}",
                                   quoted_excerpt(group)));
  }
  return group;
}

/// Gateway API Kind: a letter, then letters, digits and '-', at most 63.
std::string read_kind(FieldReader& r, const Field& field, std::string_view fallback) {
  std::string kind = r.text(field, fallback);
  bool valid = !kind.empty() && kind.size() <= 63 && is_alpha(kind.front()) && kind.back() != '-' &&
               std::all_of(kind.begin(), kind.end(),
                           [](char c) { return is_alpha(c) || is_digit(c) || c == '-'; });
  if (field.present && r.ok() && !valid) {
    r.fail(field.path,
           fmt::format("expected a kind (letters, digits, '-'), got {}", quoted_excerpt(kind)));
  }
  return kind;
}

/// An RFC 3339 time ("2024-05-01T12:00:00Z"; a fraction is dropped, an offset applied).
std::optional<std::chrono::sys_seconds> parse_time(std::string_view text) {
  auto number = [&text](std::size_t at, std::size_t digits) -> std::optional<int> {
    if (at + digits > text.size()) {
      return std::nullopt;
    }
    int value = 0;
    for (std::size_t i = at; i < at + digits; ++i) {
      if (!is_digit(text[i])) {
        return std::nullopt;
      }
      value = value * 10 + (text[i] - '0');
    }
    return value;
  };
  auto at_is = [&text](std::size_t at, std::string_view chars) {
    return at < text.size() && chars.find(text[at]) != std::string_view::npos;
  };
  auto year = number(0, 4);
  auto month = number(5, 2);
  auto day = number(8, 2);
  auto hour = number(11, 2);
  auto minute = number(14, 2);
  auto second = number(17, 2);
  if (!year || !month || !day || !hour || !minute || !second || !at_is(4, "-") || !at_is(7, "-") ||
      !at_is(10, "Tt ") || !at_is(13, ":") || !at_is(16, ":") || *hour > 23 || *minute > 59 ||
      *second > 59) {
    return std::nullopt;
  }
  std::chrono::year_month_day date{std::chrono::year(*year),
                                   std::chrono::month(static_cast<unsigned>(*month)),
                                   std::chrono::day(static_cast<unsigned>(*day))};
  if (!date.ok()) {
    return std::nullopt;
  }
  std::size_t at = 19;
  if (at_is(at, ".")) {
    std::size_t digits = at + 1;
    while (digits < text.size() && is_digit(text[digits])) {
      ++digits;
    }
    if (digits == at + 1) {
      return std::nullopt;
    }
    at = digits;
  }
  std::chrono::minutes offset{0};
  if (at_is(at, "Zz") && at + 1 == text.size()) {
    // UTC
  } else if (at_is(at, "+-") && at + 6 == text.size() && at_is(at + 3, ":")) {
    auto oh = number(at + 1, 2);
    auto om = number(at + 4, 2);
    if (!oh || !om || *oh > 23 || *om > 59) {
      return std::nullopt;
    }
    offset = std::chrono::hours(*oh) + std::chrono::minutes(*om);
    if (text[at] == '-') {
      offset = -offset;
    }
  } else {
    return std::nullopt;
  }
  return std::chrono::sys_days(date) + std::chrono::hours(*hour) + std::chrono::minutes(*minute) +
         std::chrono::seconds(*second) - offset;
}

/// A Gateway API Duration (GEP-2257): 1-4 components, each 1-5 digits and a unit h, m, s or ms.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  if (text.empty()) {
    return std::nullopt;
  }
  int64_t total = 0;
  for (int components = 1; !text.empty(); ++components) {
    std::size_t digits = 0;
    int64_t value = 0;
    while (digits < text.size() && digits <= 5 && is_digit(text[digits])) {
      value = value * 10 + (text[digits] - '0');
      ++digits;
    }
    if (digits == 0 || digits > 5 || components > 4) {
      return std::nullopt;
    }
    text.remove_prefix(digits);
    int64_t unit = 0;
    if (text.starts_with("ms")) {
      unit = 1;
      text.remove_prefix(2);
    } else if (text.starts_with("h")) {
      unit = 3'600'000;
      text.remove_prefix(1);
    } else if (text.starts_with("m")) {
      unit = 60'000;
      text.remove_prefix(1);
    } else if (text.starts_with("s")) {
      unit = 1000;
      text.remove_prefix(1);
    } else {
      return std::nullopt;
    }
    total += value * unit;
  }
  return std::chrono::milliseconds(total);
}

std::optional<std::chrono::milliseconds> read_duration(FieldReader& r, const Field& field) {
  std::string text = r.text(field);
  if (!field.present || !r.ok()) {
    return std::nullopt;
  }
  auto duration = parse_duration(text);
  if (!duration) {
    r.fail(field.path, fmt::format("expected a Gateway API duration such as \"10s\", \"500ms\" or "
                                   "\"1h30m\" (1-4 parts of 1-5 digits and h, m, s or ms), got {}",
                                   quoted_excerpt(text)));
  }
  return duration;
}

/// Compiles a RegularExpression match value (RE2 syntax, l7::compile_regex()), charging its
/// program size to the input's budget (DecodeLimits::max_regex_program_size).
Regex read_regex(FieldReader& r, std::size_t& program_left, const DecodeLimits& limits,
                 const Field& field, std::string_view pattern) {
  if (!r.ok()) {
    return nullptr;
  }
  auto regex = l7::compile_regex(pattern);
  if (!regex) {
    const l7::RegexError& e = regex.error();
    r.fail(field.path, e.kind == l7::RegexError::Kind::TooLarge
                           ? fmt::format("regular expression {} is too large ({}); lower its "
                                         "{{n,m}} bounds",
                                         quoted_excerpt(pattern), escape(e.reason))
                           : fmt::format("invalid RE2 regular expression {}: {}",
                                         quoted_excerpt(pattern), escape(e.reason)));
    return nullptr;
  }
  std::size_t size = l7::regex_program_size(**regex);
  if (size > program_left) {
    r.fail(field.path, fmt::format("the regular expressions of this input compile to more than {} "
                                   "RE2 instructions; move some routes to another file",
                                   limits.max_regex_program_size));
    return nullptr;
  }
  program_left -= size;
  return *std::move(regex);
}

/// What the route readers share while reading one route.
struct RouteReader {
  FieldReader& r;
  std::size_t& regex_program_left;
  const DecodeLimits& limits;
  Route::Kind kind;
  std::string ns;  ///< the route's namespace: default of parentRef and backendRef namespaces

  Regex regex(const Field& field, std::string_view pattern) {
    return read_regex(r, regex_program_left, limits, field, pattern);
  }
};

/// HTTP header names (RFC 7230 tokens), as Gateway API's HeaderName pattern allows.
bool is_header_name(std::string_view text) {
  return !text.empty() && text.size() <= 256 && std::all_of(text.begin(), text.end(), [](char c) {
    return is_alpha(c) || is_digit(c) ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

/// Reads a header (or query parameter) name; fails unless it is an RFC 7230 token.
std::string read_header_name(FieldReader& r, const Field& field, std::string_view what) {
  std::string name = r.required_text(field);
  if (r.ok() && !is_header_name(name)) {
    r.fail(field.path,
           fmt::format("expected {} (1-256 letters, digits and !#$%&'*+-.^_`|~), got {}", what,
                       quoted_excerpt(name)));
  }
  return name;
}

MatchType read_match_type(FieldReader& r, const Field& field) {
  std::string type = r.text(field, "Exact");
  if (r.ok() && type == "RegularExpression") {
    return MatchType::RegularExpression;
  }
  if (r.ok() && type != "Exact") {
    r.fail(field.path,
           fmt::format("expected Exact or RegularExpression, got {}", quoted_excerpt(type)));
  }
  return MatchType::Exact;
}

/// headers[] (`header`: names compare case-insensitively) or queryParams[] of a match.
std::vector<ValueMatch> read_value_matches(RouteReader& rr, const Field& list, bool header) {
  FieldReader& r = rr.r;
  std::vector<ValueMatch> out;
  std::vector<std::string> written;  // names as written: the API rejects exact duplicates
  for (const Field& f : bounded_items(r, list, 16)) {
    ValueMatch match;
    match.type = read_match_type(r, r.at(f, "type"));
    Field name = r.at(f, "name");
    std::string as_written =
        read_header_name(r, name, header ? "an HTTP header name" : "a query parameter name");
    Field value = r.at(f, "value");
    match.value = r.required_text(value);
    check_length(r, value, match.value, header ? 4096 : 1024);
    if (match.type == MatchType::RegularExpression) {
      match.regex = rr.regex(value, match.value);
    }
    only_known_keys(r, f, {"type", "name", "value"});
    if (r.ok() && std::find(written.begin(), written.end(), as_written) != written.end()) {
      r.fail(name.path, fmt::format("duplicate name {}", quoted_excerpt(as_written)));
    }
    if (!r.ok()) {
      return {};
    }
    written.push_back(as_written);
    match.name = header ? lower(as_written) : as_written;
    bool equivalent = std::any_of(out.begin(), out.end(),
                                  [&match](const ValueMatch& m) { return m.name == match.name; });
    if (!equivalent) {  // "Foo" after "foo": the Gateway API says only the first one counts
      out.push_back(std::move(match));
    }
  }
  return out;
}

/// Why a path value of an Exact or PathPrefix match is invalid (Gateway API's CEL rules), or
/// nullopt.
std::optional<std::string_view> path_problem(std::string_view path) {
  if (!path.starts_with('/')) {
    return "expected an absolute path starting with \"/\"";
  }
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 6> kForbidden = {{
      {"//", "must not contain \"//\""},
      {"/./", "must not contain \"/./\""},
      {"/../", "must not contain \"/../\""},
      {"%2f", "must not contain \"%2f\""},
      {"%2F", "must not contain \"%2F\""},
      {"#", "must not contain \"#\""},
  }};
  for (const auto& [bad, reason] : kForbidden) {
    if (path.find(bad) != std::string_view::npos) {
      return reason;
    }
  }
  if (path.ends_with("/..")) {
    return "must not end with \"/..\"";
  }
  if (path.ends_with("/.")) {
    return "must not end with \"/.\"";
  }
  for (std::size_t i = 0; i < path.size(); ++i) {
    char c = path[i];
    if (c == '%') {
      auto hex = [](char h) {
        return is_digit(h) || (h >= 'a' && h <= 'f') || (h >= 'A' && h <= 'F');
      };
      if (i + 2 >= path.size() || !hex(path[i + 1]) || !hex(path[i + 2])) {
        return "has a '%' not followed by two hex digits";
      }
      i += 2;
    } else if (!is_alpha(c) && !is_digit(c) &&
               std::string_view("-/._~!$&'()*+,;=:@").find(c) == std::string_view::npos) {
      return "may only hold letters, digits, -/._~!$&'()*+,;=:@ and %XX escapes";
    }
  }
  return std::nullopt;
}

PathMatch read_path_match(RouteReader& rr, const Field& f) {
  FieldReader& r = rr.r;
  PathMatch path;
  Field type = r.at(f, "type");
  std::string name = r.text(type, "PathPrefix");
  if (name == "Exact") {
    path.type = PathMatch::Type::Exact;
  } else if (name == "RegularExpression") {
    path.type = PathMatch::Type::RegularExpression;
  } else if (r.ok() && name != "PathPrefix") {
    r.fail(type.path, fmt::format("expected Exact, PathPrefix or RegularExpression, got {}",
                                  quoted_excerpt(name)));
  }
  Field value = r.at(f, "value");
  path.value = r.text(value, "/");
  check_length(r, value, path.value, 1024);
  if (!r.ok()) {
    return path;
  }
  if (path.type == PathMatch::Type::RegularExpression) {
    path.regex = rr.regex(value, path.value);
  } else if (auto problem = path_problem(path.value)) {
    r.fail(value.path, fmt::format("{}, got {}", *problem, quoted_excerpt(path.value)));
  }
  only_known_keys(r, f, {"type", "value"});
  return path;
}

bool is_http_method(std::string_view method) {
  static constexpr std::array<std::string_view, 9> kMethods = {
      "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"};
  return std::find(kMethods.begin(), kMethods.end(), method) != kMethods.end();
}

HttpRouteMatch read_http_match(RouteReader& rr, const Field& f) {
  FieldReader& r = rr.r;
  HttpRouteMatch match;
  match.path = read_path_match(rr, r.at(f, "path"));
  match.headers = read_value_matches(rr, r.at(f, "headers"), true);
  match.query_params = read_value_matches(rr, r.at(f, "queryParams"), false);
  Field method = r.at(f, "method");
  match.method = r.text(method);
  if (method.present && r.ok() && !is_http_method(match.method)) {
    r.fail(method.path,
           fmt::format("expected GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE or PATCH, "
                       "got {}",
                       quoted_excerpt(match.method)));
  }
  only_known_keys(r, f, {"path", "headers", "queryParams", "method"});
  return match;
}

/// A protobuf full name ("pkg.v1.Service", an optional leading '.') or, with `dots` false, a
/// method name: identifiers of letters, digits and '_' that do not start with a digit.
bool is_proto_name(std::string_view text, bool dots) {
  if (dots && text.starts_with('.')) {
    text.remove_prefix(1);
  }
  bool start = true;
  for (char c : text) {
    if (dots && c == '.' && !start) {
      start = true;
    } else if (is_alpha(c) || c == '_' || (!start && is_digit(c))) {
      start = false;
    } else {
      return false;
    }
  }
  return !start;
}

GrpcMethodMatch read_grpc_method(RouteReader& rr, const Field& f) {
  FieldReader& r = rr.r;
  GrpcMethodMatch match;
  match.type = read_match_type(r, r.at(f, "type"));
  Field service = r.at(f, "service");
  match.service = r.text(service);
  check_length(r, service, match.service, 1024);
  Field method = r.at(f, "method");
  match.method = r.text(method);
  check_length(r, method, match.method, 1024);
  if (r.ok() && match.service.empty() && match.method.empty()) {
    r.fail(f.path, "service or method (or both) required");
  }
  if (match.type == MatchType::RegularExpression) {
    if (!match.service.empty()) {
      match.service_regex = rr.regex(service, match.service);
    }
    if (!match.method.empty()) {
      match.method_regex = rr.regex(method, match.method);
    }
  } else if (r.ok() && !match.service.empty() && !is_proto_name(match.service, true)) {
    r.fail(service.path, fmt::format("expected a gRPC service name such as "
                                     "\"helloworld.Greeter\", got {}",
                                     quoted_excerpt(match.service)));
  } else if (r.ok() && !match.method.empty() && !is_proto_name(match.method, false)) {
    r.fail(method.path, fmt::format("expected a gRPC method name such as \"SayHello\", got {}",
                                    quoted_excerpt(match.method)));
  }
  only_known_keys(r, f, {"type", "service", "method"});
  return match;
}

GrpcRouteMatch read_grpc_match(RouteReader& rr, const Field& f) {
  FieldReader& r = rr.r;
  GrpcRouteMatch match;
  Field method = r.at(f, "method");
  if (method.present) {
    match.method = read_grpc_method(rr, method);
  }
  match.headers = read_value_matches(rr, r.at(f, "headers"), true);
  only_known_keys(r, f, {"method", "headers"});
  return match;
}

/// Headers a filter may not touch: they belong to the connection or to the message framing,
/// which the proxy manages (and HTTP/2 forbids the connection-specific ones).
bool is_managed_header(std::string_view lower_name) {
  static constexpr std::array<std::string_view, 7> kManaged = {
      "connection", "keep-alive",        "proxy-connection", "te",
      "upgrade",    "transfer-encoding", "content-length"};
  return std::find(kManaged.begin(), kManaged.end(), lower_name) != kManaged.end();
}

/// A header value a proxy can send: no NUL, CR, LF or other control byte but tab, and no
/// whitespace at either end (RFC 9110 5.5, RFC 9113 8.2.1).
bool is_header_value(std::string_view value) {
  auto space = [](char c) { return c == ' ' || c == '\t'; };
  if (!value.empty() && (space(value.front()) || space(value.back()))) {
    return false;
  }
  return std::none_of(value.begin(), value.end(), [](char c) {
    auto byte = static_cast<unsigned char>(c);
    return (byte < 0x20 && c != '\t') || byte == 0x7f;
  });
}

HeaderModifier read_header_modifier(FieldReader& r, const Field& f) {
  HeaderModifier mod;
  std::vector<std::string> names;  // lower case, across set, add and remove
  auto claim = [&r, &names](const Field& field, const std::string& name) {
    std::string key = lower(name);
    if (r.ok() && is_managed_header(key)) {
      r.fail(field.path, fmt::format("{} is managed by the proxy and cannot be modified",
                                     quoted_excerpt(name)));
    }
    if (r.ok() && std::find(names.begin(), names.end(), key) != names.end()) {
      r.fail(field.path, fmt::format("header {} appears more than once in this filter (names are "
                                     "case-insensitive)",
                                     quoted_excerpt(name)));
    }
    names.push_back(key);
    return key;
  };
  for (std::string_view list : {"set", "add"}) {
    for (const Field& item : bounded_items(r, r.at(f, list), 16)) {
      Field name = r.at(item, "name");
      std::string written = read_header_name(r, name, "an HTTP header name");
      Field value = r.at(item, "value");
      HttpHeader header{claim(name, written), r.required_text(value)};
      check_length(r, value, header.value, 4096);
      if (r.ok() && !is_header_value(header.value)) {
        r.fail(value.path, fmt::format("expected a header value without control characters or "
                                       "whitespace at either end, got {}",
                                       quoted_excerpt(header.value)));
      }
      only_known_keys(r, item, {"name", "value"});
      if (!r.ok()) {
        return mod;
      }
      (list == "set" ? mod.set : mod.add).push_back(std::move(header));
    }
  }
  for (const Field& item : bounded_items(r, r.at(f, "remove"), 16)) {
    std::string written = read_header_name(r, item, "an HTTP header name");
    std::string key = claim(item, written);
    if (!r.ok()) {
      return mod;
    }
    mod.remove.push_back(std::move(key));
  }
  only_known_keys(r, f, {"set", "add", "remove"});
  return mod;
}

void read_filters(FieldReader& r, const Field& list, RouteRule& rule) {
  for (const Field& f : bounded_items(r, list, 16)) {
    Field type = r.at(f, "type");
    std::string name = r.required_text(type);
    if (!r.ok()) {
      return;
    }
    bool request = name == "RequestHeaderModifier";
    if (!request && name != "ResponseHeaderModifier") {
      r.fail(type.path, fmt::format("unsupported filter type {} (weft supports "
                                    "RequestHeaderModifier and ResponseHeaderModifier)",
                                    quoted_excerpt(name)));
      return;
    }
    std::optional<HeaderModifier>& slot = request ? rule.request_headers : rule.response_headers;
    if (slot) {
      r.fail(type.path, fmt::format("{} filter cannot be repeated", name));
      return;
    }
    Field config = r.at(f, request ? "requestHeaderModifier" : "responseHeaderModifier");
    Field other = r.at(f, request ? "responseHeaderModifier" : "requestHeaderModifier");
    if (!config.present) {
      r.fail(config.path, fmt::format("required when type is {}", name));
    } else if (other.present) {
      r.fail(other.path, fmt::format("must be absent when type is {}", name));
    }
    only_known_keys(r, f, {"type", "requestHeaderModifier", "responseHeaderModifier"});
    slot = read_header_modifier(r, config);
  }
}

BackendRef read_backend_ref(RouteReader& rr, const Field& f) {
  FieldReader& r = rr.r;
  BackendRef backend;
  backend.group = read_group(r, r.at(f, "group"), "");
  backend.kind = read_kind(r, r.at(f, "kind"), "Service");
  Field name = r.at(f, "name");
  backend.name = r.name(name);
  if (r.ok() && backend.name.empty()) {
    r.fail(name.path, "required");
  }
  backend.ns = read_namespace(r, r.at(f, "namespace"), rr.ns);
  Field port = r.at(f, "port");
  if (port.present) {
    backend.port = r.port(port);
  } else if (r.ok() && backend.is_service()) {
    r.fail(port.path, "required for a Service backend");
  }
  Field weight = r.at(f, "weight");
  constexpr std::string_view kWeight = "an integer 0-1000000";
  auto value = r.integer(weight, kWeight);
  if (value && (*value < 0 || *value > 1'000'000)) {
    r.fail(weight.path, fmt::format("expected {}, got {}", kWeight, *value));
  }
  backend.weight = static_cast<uint32_t>(r.ok() ? value.value_or(1) : 1);
  Field filters = r.at(f, "filters");
  if (r.ok() && !r.items(filters).empty()) {
    r.fail(filters.path, "not supported by weft; put the filters on the rule");
  }
  only_known_keys(r, f, {"group", "kind", "name", "namespace", "port", "weight", "filters"});
  return backend;
}

RouteTimeouts read_timeouts(FieldReader& r, const Field& f) {
  RouteTimeouts timeouts;
  timeouts.request = read_duration(r, r.at(f, "request"));
  Field backend = r.at(f, "backendRequest");
  timeouts.backend_request = read_duration(r, backend);
  if (r.ok() && timeouts.request && timeouts.backend_request && timeouts.request->count() != 0 &&
      *timeouts.backend_request > *timeouts.request) {
    r.fail(backend.path, "cannot be longer than the request timeout");
  }
  only_known_keys(r, f, {"request", "backendRequest"});
  return timeouts;
}

/// gRPC status names by code (https://grpc.github.io/grpc/core/md_doc_statuscodes.html).
constexpr std::array<std::string_view, 17> kGrpcStatusNames = {
    "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
    "DATA_LOSS", "UNAUTHENTICATED"};

RouteRetry read_retry(RouteReader& rr, const Field& f) {
  FieldReader& r = rr.r;
  RouteRetry retry;
  for (const Field& item : r.items(r.at(f, "codes"))) {
    uint16_t code = 0;
    if (rr.kind == Route::Kind::Http) {
      constexpr std::string_view kExpected = "an HTTP status code 400-599";
      auto value = r.integer(item, kExpected);
      if (r.ok() && !item.present) {
        r.fail(item.path, "required");
      } else if (value && (*value < 400 || *value > 599)) {
        r.fail(item.path, fmt::format("expected {}, got {}", kExpected, *value));
      }
      code = static_cast<uint16_t>(r.ok() ? *value : 0);
    } else {
      std::string name = r.required_text(item);
      auto it = std::find(kGrpcStatusNames.begin() + 1, kGrpcStatusNames.end(), name);
      if (r.ok() && it == kGrpcStatusNames.end()) {
        r.fail(item.path, fmt::format("expected a gRPC status name (CANCELLED, UNKNOWN, "
                                      "INVALID_ARGUMENT, DEADLINE_EXCEEDED, NOT_FOUND, "
                                      "ALREADY_EXISTS, PERMISSION_DENIED, RESOURCE_EXHAUSTED, "
                                      "FAILED_PRECONDITION, ABORTED, OUT_OF_RANGE, UNIMPLEMENTED, "
                                      "INTERNAL, UNAVAILABLE, DATA_LOSS, UNAUTHENTICATED), got {}",
                                      quoted_excerpt(name)));
      }
      code = static_cast<uint16_t>(r.ok() ? it - kGrpcStatusNames.begin() : 0);
    }
    if (r.ok() && std::find(retry.codes.begin(), retry.codes.end(), code) != retry.codes.end()) {
      r.fail(item.path, fmt::format("duplicate code {}", detail::describe(item.node)));
    }
    if (!r.ok()) {
      return retry;
    }
    retry.codes.push_back(code);
  }
  Field attempts = r.at(f, "attempts");
  constexpr std::string_view kAttempts = "an integer 1-2147483647";
  auto value = r.integer(attempts, kAttempts);
  if (value && (*value < 1 || *value > INT32_MAX)) {
    r.fail(attempts.path, fmt::format("expected {}, got {}", kAttempts, *value));
  } else if (value) {
    retry.attempts = static_cast<uint32_t>(*value);
  }
  retry.backoff = read_duration(r, r.at(f, "backoff"));
  only_known_keys(r, f, {"codes", "attempts", "backoff"});
  return retry;
}

/// The fields HTTPRoute and GRPCRoute rules share.
void read_rule(RouteReader& rr, const Field& f, RouteRule& rule) {
  FieldReader& r = rr.r;
  Field name = r.at(f, "name");
  rule.name = r.text(name);
  if (name.present && r.ok() && !detail::is_dns_subdomain(rule.name)) {
    r.fail(name.path, fmt::format("expected a DNS-1123 name (lowercase letters, digits, '-', '.'), "
                                  "got {}",
                                  quoted_excerpt(rule.name)));
  }
  read_filters(r, r.at(f, "filters"), rule);
  for (const Field& b : bounded_items(r, r.at(f, "backendRefs"), 16)) {
    rule.backends.push_back(read_backend_ref(rr, b));
  }
  Field timeouts = r.at(f, "timeouts");
  if (timeouts.present) {
    rule.timeouts = read_timeouts(r, timeouts);
  }
  Field retry = r.at(f, "retry");
  if (retry.present) {
    rule.retry = read_retry(rr, retry);
  }
  Field persistence = r.at(f, "sessionPersistence");
  if (r.ok() && persistence.present) {
    r.fail(persistence.path, "not supported by weft");
  }
  only_known_keys(
      r, f,
      {"name", "matches", "filters", "backendRefs", "timeouts", "retry", "sessionPersistence"});
}

/// A hostname of spec.hostnames: a DNS name, optionally "*." first; not an IP address.
bool is_route_hostname(std::string_view text) {
  if (text.size() > 253 || IpAddr::parse(text)) {
    return false;
  }
  if (text.starts_with("*.")) {
    text.remove_prefix(2);
  }
  return detail::is_dns_subdomain(text);
}

ParentRef read_parent_ref(RouteReader& rr, const Field& f) {
  FieldReader& r = rr.r;
  ParentRef parent;
  parent.group = read_group(r, r.at(f, "group"), "gateway.networking.k8s.io");
  parent.kind = read_kind(r, r.at(f, "kind"), "Gateway");
  parent.ns = read_namespace(r, r.at(f, "namespace"), rr.ns);
  Field name = r.at(f, "name");
  parent.name = r.name(name);
  if (r.ok() && parent.name.empty()) {
    r.fail(name.path, "required");
  }
  parent.section_name = r.name(r.at(f, "sectionName"));
  Field port = r.at(f, "port");
  if (port.present) {
    parent.port = r.port(port);
  }
  only_known_keys(r, f, {"group", "kind", "namespace", "name", "sectionName", "port"});
  return parent;
}

/// metadata.creationTimestamp, spec.parentRefs and spec.hostnames; returns spec.
Field read_route_head(RouteReader& rr, const Field& root, Route& route, Meta meta) {
  FieldReader& r = rr.r;
  route.name = std::move(meta.name);
  route.ns = std::move(meta.ns);
  Field created = r.at(r.at(root, "metadata"), "creationTimestamp");
  std::string text = r.text(created);
  if (created.present && r.ok()) {
    route.created = parse_time(text);
    if (!route.created) {
      r.fail(created.path, fmt::format("expected an RFC 3339 time such as "
                                       "\"2024-05-01T12:00:00Z\", got {}",
                                       quoted_excerpt(text)));
    }
  }
  Field spec = r.at(root, "spec");
  for (const Field& f : bounded_items(r, r.at(spec, "parentRefs"), 32)) {
    route.parents.push_back(read_parent_ref(rr, f));
  }
  for (const Field& f : bounded_items(r, r.at(spec, "hostnames"), 16)) {
    std::string hostname = r.required_text(f);
    if (r.ok() && !is_route_hostname(hostname)) {
      r.fail(f.path, fmt::format("expected a hostname such as \"example.com\" or "
                                 "\"*.example.com\" (lowercase, not an IP address), got {}",
                                 quoted_excerpt(hostname)));
    }
    if (!r.ok()) {
      break;
    }
    route.hostnames.push_back(std::move(hostname));
  }
  return spec;
}

/// Reads spec.rules with `read_matches(rule field, rule)`; checks the Gateway API bounds.
template <class Rule, class ReadMatches>
std::vector<Rule> read_rules(RouteReader& rr, const Field& spec, ReadMatches read_matches) {
  FieldReader& r = rr.r;
  std::vector<Rule> rules;
  std::size_t total_matches = 0;
  Field list = r.at(spec, "rules");
  for (const Field& f : bounded_items(r, list, 16)) {
    Rule rule;
    Field matches = r.at(f, "matches");
    std::vector<Field> items = bounded_items(r, matches, 64);
    total_matches += items.size();
    for (const Field& m : items) {
      read_matches(m, rule);
    }
    read_rule(rr, f, rule);
    if (r.ok() && !rule.name.empty() &&
        std::any_of(rules.begin(), rules.end(),
                    [&rule](const Rule& other) { return other.name == rule.name; })) {
      r.fail(f.path + ".name", fmt::format("duplicate rule name {}", quoted_excerpt(rule.name)));
    }
    if (!r.ok()) {
      return rules;
    }
    rules.push_back(std::move(rule));
  }
  if (r.ok() && total_matches > 128) {
    r.fail(list.path, fmt::format("at most 128 matches across all rules, got {}", total_matches));
  }
  return rules;
}

HttpRoute read_http_route(RouteReader& rr, const Field& root, Meta meta) {
  FieldReader& r = rr.r;
  HttpRoute route;
  Field spec = read_route_head(rr, root, route, std::move(meta));
  Field rules = r.at(spec, "rules");
  if (r.ok() && rules.present && r.items(rules).empty()) {
    r.fail(rules.path, "at least one rule required (omit rules for the default rule)");
  }
  route.rules = read_rules<HttpRouteRule>(rr, spec, [&rr](const Field& m, HttpRouteRule& rule) {
    rule.matches.push_back(read_http_match(rr, m));
  });
  if (r.ok() && !rules.present) {
    // The API's default: one rule matching every request and sending it nowhere (a 500).
    route.rules.emplace_back();
  }
  for (HttpRouteRule& rule : route.rules) {
    if (rule.matches.empty()) {
      rule.matches.emplace_back();  // PathPrefix "/"
    }
  }
  only_known_keys(r, spec, {"parentRefs", "hostnames", "rules"});
  only_known_keys(r, root, {"apiVersion", "kind", "metadata", "spec", "status"});
  return route;
}

GrpcRoute read_grpc_route(RouteReader& rr, const Field& root, Meta meta) {
  FieldReader& r = rr.r;
  GrpcRoute route;
  Field spec = read_route_head(rr, root, route, std::move(meta));
  route.rules = read_rules<GrpcRouteRule>(rr, spec, [&rr](const Field& m, GrpcRouteRule& rule) {
    rule.matches.push_back(read_grpc_match(rr, m));
  });
  for (GrpcRouteRule& rule : route.rules) {
    if (rule.matches.empty()) {
      rule.matches.emplace_back();  // every call
    }
  }
  only_known_keys(r, spec, {"parentRefs", "hostnames", "rules"});
  only_known_keys(r, root, {"apiVersion", "kind", "metadata", "spec", "status"});
  return route;
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
  bool gateway = api_version == kGatewayVersion;
  bool route = gateway && (kind == "HTTPRoute" || kind == "GRPCRoute");
  if (api_version.starts_with(fmt::format("{}/", kSecurityGroup))) {
    // Never skip an object of our own security group: a policy the agent did not read would
    // leave pods open without a word.
    if (!security || (kind != "MeshPolicy" && kind != "MeshPolicyList")) {
      return fmt::format("{} ({}): apiVersion {} is not supported (expected {} MeshPolicy)", where,
                         shown_kind(kind), quoted_excerpt(api_version), kSecurityVersion);
    }
  }
  if (kind == "List" || (is_typed_list(kind) && (core || discovery || security || gateway))) {
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
      !security && !route) {
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
  } else if (route) {
    RouteReader rr{r, state.regex_program_left, state.limits,
                   kind == "HTTPRoute" ? Route::Kind::Http : Route::Kind::Grpc, meta.ns};
    if (rr.kind == Route::Kind::Http) {
      HttpRoute http = read_http_route(rr, root, std::move(meta));
      if (r.ok()) {
        state.out.objects.emplace_back(std::move(http));
      }
    } else {
      GrpcRoute grpc = read_grpc_route(rr, root, std::move(meta));
      if (r.ok()) {
        state.out.objects.emplace_back(std::move(grpc));
      }
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
    DecodeState state{limits, limits.max_visits, limits.max_regex_program_size, {}};
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
    DecodeState state{limits, limits.max_visits, limits.max_regex_program_size, {}};
    if (auto error = decode_node(state, object, std::string(source), false, nullptr)) {
      return std::unexpected(protocol_error(std::move(*error)));
    }
    return std::move(state.out);
  } catch (const std::exception& e) {
    return std::unexpected(protocol_error(fmt::format("{}: {}", source, escape(e.what()))));
  }
}

}  // namespace weft::discovery
