#include "agent/kube/WatchTable.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

namespace weft::kube {
namespace {

constexpr std::array kWatches = {
    WatchSpec{.name = "node-pods",
              .group = "",
              .version = "v1",
              .resource = "pods",
              .kind = "Pod",
              .node_scoped = true},
    WatchSpec{.name = "pods",
              .group = "",
              .version = "v1",
              .resource = "pods",
              .kind = "Pod",
              .identity_only = true},
    WatchSpec{.name = "services",
              .group = "",
              .version = "v1",
              .resource = "services",
              .kind = "Service"},
    WatchSpec{.name = "endpointslices",
              .group = "discovery.k8s.io",
              .version = "v1",
              .resource = "endpointslices",
              .kind = "EndpointSlice"},
    WatchSpec{.name = "meshpolicies",
              .group = "security.weft.io",
              .version = "v1alpha1",
              .resource = "meshpolicies",
              .kind = "MeshPolicy"},
    WatchSpec{.name = "httproutes",
              .group = "gateway.networking.k8s.io",
              .version = "v1",
              .resource = "httproutes",
              .kind = "HTTPRoute",
              .optional = true},
    WatchSpec{.name = "grpcroutes",
              .group = "gateway.networking.k8s.io",
              .version = "v1",
              .resource = "grpcroutes",
              .kind = "GRPCRoute",
              .optional = true},
};

}  // namespace

std::string WatchSpec::api_version() const {
  return group.empty() ? std::string(version) : fmt::format("{}/{}", group, version);
}

std::string WatchSpec::path() const {
  return group.empty() ? fmt::format("/api/{}/{}", version, resource)
                       : fmt::format("/apis/{}/{}/{}", group, version, resource);
}

std::span<const WatchSpec> watch_table() {
  return kWatches;
}

std::vector<RbacRule> rbac_rules() {
  std::map<std::pair<std::string, std::string>, std::set<std::string>> verbs;
  for (const auto& w : kWatches) {
    auto& v = verbs[{std::string(w.group), std::string(w.resource)}];
    v.insert("list");
    v.insert("watch");
  }
  verbs[{"", "pods"}].insert("patch");  // kRedirectionAnnotation on the pods this agent meshes
  std::vector<RbacRule> out;
  for (const auto& [key, set] : verbs) {
    out.push_back({key.first, key.second, {set.begin(), set.end()}});
  }
  return out;
}

std::string rbac_rules_json() {
  nlohmann::json rules = nlohmann::json::array();
  for (const auto& r : rbac_rules()) {
    rules.push_back({{"apiGroups", {r.group}}, {"resources", {r.resource}}, {"verbs", r.verbs}});
  }
  return rules.dump();
}

}  // namespace weft::kube
