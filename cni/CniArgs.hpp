// CNI_ARGS: "K8S_POD_NAME=a;K8S_POD_NAMESPACE=b;K8S_POD_UID=c;IgnoreUnknown=1", as the
// kubelet/containerd/CRI-O pass it.
#pragma once

#include <expected>
#include <string>
#include <string_view>

#include "cni/CniError.hpp"

namespace weft::cni {

/// The keys of CNI_ARGS that weft-cni understands.
struct CniArgs {
  std::string pod_name;            ///< K8S_POD_NAME
  std::string pod_namespace;       ///< K8S_POD_NAMESPACE
  std::string pod_uid;             ///< K8S_POD_UID
  std::string infra_container_id;  ///< K8S_POD_INFRA_CONTAINER_ID
  bool ignore_unknown = false;     ///< IgnoreUnknown=1|true
};

/// Parses `KEY=VALUE` pairs separated by ';'. The value is everything after the first '=';
/// empty segments are skipped. A pair without '=' or with an empty key, a non-boolean
/// IgnoreUnknown, or an unknown key without IgnoreUnknown=1 is an InvalidEnvironment error, as
/// the reference plugins (libcni types.LoadArgs) treat them.
std::expected<CniArgs, CniError> parse_cni_args(std::string_view text);

}  // namespace weft::cni
