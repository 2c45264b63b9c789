// The CNI error result (CNI spec 1.0, "Error"): what weft-cni prints on stdout when a command
// fails, together with exit status 1.
#pragma once

#include <string>
#include <string_view>

namespace weft::cni {

/// Well-known CNI error codes (spec section "Error"); codes above 100 are plugin-specific.
enum class ErrorCode : int {
  IncompatibleVersion = 1,   ///< the config's cniVersion is not one we support
  UnsupportedField = 2,      ///< a field in the network config is not supported
  UnknownContainer = 3,      ///< the container does not exist
  InvalidEnvironment = 4,    ///< a CNI_* variable is missing or malformed (also: unknown command)
  IoFailure = 5,             ///< reading stdin failed
  DecodingFailure = 6,       ///< stdin is not JSON or a field has the wrong type
  InvalidNetworkConfig = 7,  ///< stdin decodes but a value is not acceptable
  TryAgainLater = 11,        ///< transient: the node agent is unreachable or did not answer
  AgentRefused = 999,        ///< the node agent answered ok:false; its reason is in details
  Internal = 999,            ///< an unexpected failure inside weft-cni (a caught exception)
};

/// One CNI error as the runtime receives it.
struct CniError {
  ErrorCode code = ErrorCode::AgentRefused;
  std::string msg;      ///< short, fixed text per failure kind
  std::string details;  ///< the specifics (socket path, field name, the agent's reason)
};

/// Builds a CniError.
inline CniError cni_error(ErrorCode code, std::string msg, std::string details = {}) {
  return CniError{code, std::move(msg), std::move(details)};
}

/// Encodes `{"cniVersion":..., "code":N, "msg":..., "details":...}` followed by a newline.
std::string encode_error(std::string_view cni_version, const CniError& err);

}  // namespace weft::cni
