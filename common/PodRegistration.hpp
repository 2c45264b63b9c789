// The message weft-cni sends to weft-agent over the registration unix socket.
//
// Wire format: one JSON object per connection, terminated by '\n', answered by one JSON object
// terminated by '\n':
//   request  {"op":"add"|"del"|"check", "containerId":..., "netns":..., "ifname":...,
//             "ips":["10.244.1.5/24", ...], "podName":..., "podNamespace":..., "podUid":...}
//   response {"ok":true} or {"ok":false, "error":"<reason>"}
// A starting agent sends {"op":"handover"} to the agent it replaces on the node (ARCHITECTURE.md,
// "Hand-over"); weft-cni never does.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/Error.hpp"

namespace weft {

/// What the runtime told the CNI plugin about one pod sandbox.
struct PodRegistration {
  enum class Op { Add, Del, Check, Handover };
  Op op = Op::Add;
  std::string container_id;
  std::string netns;             ///< path of the pod's network namespace (CNI_NETNS)
  std::string ifname;            ///< the pod's interface inside its netns (CNI_IFNAME)
  std::vector<std::string> ips;  ///< CIDR notation, from prevResult.ips[].address
  std::string pod_name;          ///< K8S_POD_NAME from CNI_ARGS (may be empty)
  std::string pod_namespace;     ///< K8S_POD_NAMESPACE
  std::string pod_uid;           ///< K8S_POD_UID
};

/// The agent's answer.
struct RegistrationReply {
  bool ok = false;
  std::string error;
};

/// Longest request either side accepts; anything longer is a protocol error.
inline constexpr std::size_t kMaxRegistrationBytes = 64 * 1024;

std::string_view to_string(PodRegistration::Op op);
std::string encode(const PodRegistration& reg);
std::string encode(const RegistrationReply& reply);
/// Decodes one request; a missing required field or a wrong type is a Protocol error.
Result<PodRegistration> decode_registration(std::string_view json);
Result<RegistrationReply> decode_reply(std::string_view json);

}  // namespace weft
