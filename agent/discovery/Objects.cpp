#include "agent/discovery/Objects.hpp"

#include <fmt/format.h>

namespace weft::discovery {

std::string Service::fqdn(std::string_view cluster_domain) const {
  return fmt::format("{}.{}.svc.{}", name, ns, cluster_domain);
}

}  // namespace weft::discovery
