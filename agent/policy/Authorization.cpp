#include "agent/policy/Authorization.hpp"

#include <algorithm>

#include "agent/discovery/SpiffeId.hpp"

namespace weft::policy {
namespace {

using discovery::AllowRule;
using discovery::MeshPolicy;

/// Whether an authenticated `principal` matches one entry of `rule`.
bool matches(const AllowRule& rule, std::string_view principal) {
  for (const std::string& p : rule.principals) {
    if (p == "*" || p == principal) {
      return true;
    }
  }
  if (rule.namespaces.empty()) {
    return false;
  }
  // Only the exact workload form counts: a namespace found elsewhere in an odd path
  // (spiffe://td/x/ns/demo/...) must not match.
  auto id = discovery::parse_workload_spiffe_id(principal);
  return id &&
         std::find(rule.namespaces.begin(), rule.namespaces.end(), id->ns) != rule.namespaces.end();
}

}  // namespace

std::string_view Decision::reason() const {
  switch (verdict) {
    case Verdict::Allow:
      return "allowed";
    case Verdict::DenyNotAllowed:
      return "not_allowed";
    case Verdict::DenyPlaintext:
      return "plaintext_in_strict";
  }
  return "not_allowed";  // unreachable: every enumerator is handled above
}

Decision authorize(const discovery::World& world, const discovery::PodInfo* destination,
                   const Source& source) {
  if (destination == nullptr) {
    return {Verdict::Allow};
  }
  bool authenticated = !source.principal.empty();
  bool strict = false;
  bool any_allow = false;
  bool allowed = false;
  for (const MeshPolicy* policy : world.policies_in(destination->ns)) {
    if (!policy->selects(destination->labels)) {
      continue;
    }
    strict = strict || policy->mode == MeshPolicy::Mode::Strict;
    if (policy->allow) {
      any_allow = true;
      allowed = allowed || (authenticated && matches(*policy->allow, source.principal));
    }
  }
  if (strict && !authenticated) {
    return {Verdict::DenyPlaintext};
  }
  if (any_allow && !allowed) {
    return {Verdict::DenyNotAllowed};
  }
  return {Verdict::Allow};
}

}  // namespace weft::policy
