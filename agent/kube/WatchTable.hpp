// What the agent reads from and writes to the Kubernetes API: the collections it lists and
// watches, and the one write it makes. The ClusterRole of manifests/base is derived from this
// table (`weft-agent --print-rbac`, compared by the manifests test), so a new watch without its
// permission fails the build instead of a cluster.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace weft::kube {

/// One collection the agent lists and watches.
struct WatchSpec {
  std::string_view name;      ///< label of its weft_discovery_* metrics, e.g. "node-pods"
  std::string_view group;     ///< API group, "" for the core group
  std::string_view version;   ///< e.g. "v1"
  std::string_view resource;  ///< plural, e.g. "pods"
  std::string_view kind;      ///< the kind of its items, e.g. "Pod"
  /// Only the objects of this node (`fieldSelector=spec.nodeName=<node>`).
  bool node_scoped = false;
  /// Objects kept with their identity only (annotations other than weft.io/* dropped): for the
  /// pods of other nodes, which the agent needs for peers' identities and addresses.
  bool identity_only = false;
  /// A CustomResourceDefinition that may not be installed (the Gateway API, say): a 404 means
  /// "none of these", logged once, not an error.
  bool optional = false;

  /// "v1" or "group/version", as objects' apiVersion.
  std::string api_version() const;
  /// The collection's path: /api/v1/pods, /apis/discovery.k8s.io/v1/endpointslices...
  std::string path() const;
};

/// Every collection the agent watches, in the order the World is merged (the node's own pods
/// first, so their full objects win over the identity-only copies).
std::span<const WatchSpec> watch_table();

/// The pods the agent meshes get an annotation from it (FlowPlan.cpp reads it on other nodes).
inline constexpr std::string_view kRedirectionAnnotation = "weft.io/redirection";

/// One rule of the agent's ClusterRole.
struct RbacRule {
  std::string group;
  std::string resource;
  std::vector<std::string> verbs;  ///< sorted
};

/// The permissions the table and the annotation need (list + watch per collection, patch on
/// pods), one rule per group and resource, sorted by group then resource.
std::vector<RbacRule> rbac_rules();

/// rbac_rules() as a JSON array of ClusterRole rules, one line.
std::string rbac_rules_json();

}  // namespace weft::kube
