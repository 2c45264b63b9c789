#include "agent/discovery/PolicyDecoder.hpp"

#include <fmt/format.h>

#include <string>
#include <utility>

#include "agent/discovery/SpiffeId.hpp"
#include "agent/discovery/Text.hpp"

namespace weft::discovery::detail {
namespace {

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
  r.only_known_keys(allow, {"principals", "namespaces"});
  return rule;
}

}  // namespace

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
  r.only_known_keys(selector, {"matchLabels"});
  policy.mode = read_mode(r, r.at(spec, "mode"));
  Field allow = r.at(spec, "allow");
  if (allow.present) {
    policy.allow = read_allow(r, allow);
  }
  r.only_known_keys(spec, {"selector", "mode", "allow"});
  r.only_known_keys(root, {"apiVersion", "kind", "metadata", "spec", "status"});
  return policy;
}

}  // namespace weft::discovery::detail
