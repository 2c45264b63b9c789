#include "agent/discovery/Objects.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace weft::discovery {

std::string Service::fqdn(std::string_view cluster_domain) const {
  return fmt::format("{}.{}.svc.{}", name, ns, cluster_domain);
}

bool MeshPolicy::selects(const std::map<std::string, std::string>& labels) const {
  return std::all_of(match_labels.begin(), match_labels.end(), [&labels](const auto& pair) {
    auto it = labels.find(pair.first);
    return it != labels.end() && it->second == pair.second;
  });
}

}  // namespace weft::discovery
