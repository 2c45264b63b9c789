// Who may tap over mTLS (tap_allow): SPIFFE IDs and, for each, the namespaces whose pods'
// requests it may see ("*": every one).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/Error.hpp"

namespace weft::agent {

using TapAllowList = std::map<std::string, std::vector<std::string>>;

/// "PRINCIPAL=NS1;NS2,PRINCIPAL2=*" as a TapAllowList; errors name the entry.
Result<TapAllowList> parse_tap_allow(std::string_view text);

/// The list as parse_tap_allow reads it.
std::string describe_tap_allow(const TapAllowList& allow);

}  // namespace weft::agent
