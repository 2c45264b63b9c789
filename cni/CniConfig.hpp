// The network configuration weft-cni reads on stdin: the standard CNI fields, the previous
// plugin's result (we are chained) and weft's own fields.
#pragma once

#include <chrono>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "cni/CniEnv.hpp"
#include "cni/CniError.hpp"
#include "common/Log.hpp"

namespace weft::cni {

/// Where weft-agent listens for registrations unless the config says otherwise.
inline constexpr std::string_view kDefaultAgentSocket = "/run/weft/cni.sock";
/// How long one command may wait for the agent, end to end.
inline constexpr std::chrono::milliseconds kDefaultTimeout{5000};
inline constexpr std::chrono::milliseconds kMaxTimeout{600000};

/// One plugin's network configuration, decoded and validated.
struct NetworkConfig {
  std::string cni_version;
  std::string name;
  std::string type;
  /// The previous plugin's result, keys in their original order so it is printed unchanged.
  std::optional<nlohmann::ordered_json> prev_result;
  /// prevResult.ips[].address, e.g. "10.244.1.5/24".
  std::vector<std::string> ips;
  std::string agent_socket{kDefaultAgentSocket};        ///< "agentSocket"
  std::chrono::milliseconds timeout = kDefaultTimeout;  ///< "timeoutMs", 1..600000
  log::Level log_level = log::Level::Info;              ///< "logLevel"
  /// "excludeNamespaces": pods of these namespaces are passed through unmeshed (ADD prints the
  /// previous result, CHECK succeeds; the agent is not asked). The mesh's own pods and the
  /// cluster's system pods by default; at most kMaxExcludedNamespaces.
  std::vector<std::string> exclude_namespaces{"kube-system", "weft-system"};
};

inline constexpr std::size_t kMaxExcludedNamespaces = 64;

/// Why `names` cannot be an excludeNamespaces list (too many, or one not 1 to 63 characters),
/// or "" when it can.
std::string excluded_namespaces_error(const std::vector<std::string>& names);

/// Decodes stdin for `command` (ADD, DEL or CHECK). Errors carry the CNI code:
/// DecodingFailure for bytes that are not a JSON object or a field of the wrong type,
/// IncompatibleVersion for a cniVersion we do not speak (or CHECK before 0.4.0),
/// InvalidNetworkConfig for a missing field or an unacceptable value, including a missing
/// prevResult on ADD/CHECK (weft-cni must be chained after the plugin that assigns IPs).
std::expected<NetworkConfig, CniError> parse_network_config(std::string_view text, Command command);

/// The cniVersion of `text` if it is a JSON object with a supported string cniVersion; used to
/// label an error result when the rest of the config is unusable.
std::optional<std::string> sniff_cni_version(std::string_view text);

}  // namespace weft::cni
