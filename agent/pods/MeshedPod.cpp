#include "agent/pods/MeshedPod.hpp"

namespace weft::agent {

std::string MeshedPod::display_name() const {
  if (registration.pod_name.empty()) {
    return registration.container_id;
  }
  return registration.pod_namespace + "/" + registration.pod_name;
}

}  // namespace weft::agent
