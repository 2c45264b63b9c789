// `weftctl check`'s view of the mesh CA's files (trust-anchor.crt and issuer.crt, as `weftctl ca
// create` writes them and the agents read them): each certificate valid now and for the next
// 30 days (less is a warning: renew it before it expires; expired or not yet valid is an error:
// no agent can issue certificates peers accept), and the issuer signed by the trust anchor.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "weftctl/CheckResults.hpp"

namespace weft::weftctl {

/// Below this much validity left, an anchor or issuer is a warning.
inline constexpr std::chrono::days kMinCaValidity{30};

/// "expires 2026-03-01 12:00:00 UTC, in 29 days" or "expired 2026-01-01 12:00:00 UTC, 3 days
/// ago": `not_after` read against `now`.
std::string expiry_text(std::chrono::system_clock::time_point not_after,
                        std::chrono::system_clock::time_point now);

/// Category "weft-identity": the trust anchors in DIR/trust-anchor.crt and the issuer (the first
/// certificate of DIR/issuer.crt) valid for kMinCaValidity, the issuer chaining to an anchor
/// (judged without the clock: the validity checks judge that).
std::vector<CheckResult> ca_checks(const std::filesystem::path& dir,
                                   std::chrono::system_clock::time_point now);

}  // namespace weft::weftctl
