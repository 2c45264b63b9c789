// `weftctl check`'s view of the node's CNI setup: the network config the container runtime uses
// (the first *.conflist, *.conf or *.json in the config dir, as weft-cni's installer picks it)
// chains weft-cni after the primary plugin, the weft-cni binary is in the plugin dir, and the
// agent's registration socket that entry names is there.
#pragma once

#include <filesystem>
#include <string_view>
#include <vector>

#include "weftctl/CheckResults.hpp"

namespace weft::weftctl {

/// Category "weft-cni": the config found, weft-cni chained in it, the binary, the socket.
std::vector<CheckResult> cni_checks(const std::filesystem::path& conf_dir,
                                    const std::filesystem::path& bin_dir);

/// The chain check of one config (`file` names it in the detail): a conflist whose plugins hold
/// one weft-cni entry, after at least one other plugin. On success `agent_socket` is set to the
/// entry's agentSocket (its default when absent).
CheckResult chain_check(std::string_view file, std::string_view text, std::string& agent_socket);

}  // namespace weft::weftctl
