#include "agent/discovery/SpiffeId.hpp"

#include <algorithm>

#include "agent/discovery/FieldReader.hpp"

namespace weft::discovery {
namespace {

constexpr std::string_view kScheme = "spiffe://";
/// SPIFFE-ID spec 2.3: URIs longer than 2048 bytes are not SPIFFE IDs.
constexpr std::size_t kMaxLength = 2048;
/// SPIFFE-ID spec 2.1: a trust domain is at most 255 bytes.
constexpr std::size_t kMaxTrustDomain = 255;

/// SPIFFE-ID spec 2.1: lowercase letters, digits, '.', '-' and '_' only (so no port, userinfo,
/// upper case or percent-encoding).
bool is_trust_domain(std::string_view text) {
  return !text.empty() && text.size() <= kMaxTrustDomain &&
         std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
                  c == '_';
         });
}

/// Cuts `text` at the first '/' and returns the part before it ("" and all of `text` consumed
/// when there is none).
std::string_view next_segment(std::string_view& text) {
  auto slash = text.find('/');
  std::string_view segment = text.substr(0, slash);
  text.remove_prefix(slash == std::string_view::npos ? text.size() : slash + 1);
  return segment;
}

}  // namespace

std::optional<WorkloadSpiffeId> parse_workload_spiffe_id(std::string_view text) {
  if (text.size() > kMaxLength || !text.starts_with(kScheme)) {
    return std::nullopt;
  }
  text.remove_prefix(kScheme.size());
  auto slash = text.find('/');
  if (slash == std::string_view::npos) {
    return std::nullopt;  // a trust domain ID names no workload
  }
  WorkloadSpiffeId id;
  id.trust_domain = text.substr(0, slash);
  std::string_view path = text.substr(slash + 1);
  bool shaped = next_segment(path) == "ns";
  id.ns = next_segment(path);
  shaped = shaped && next_segment(path) == "sa";
  // The rest is the account name; a further '/' fails the subdomain check below.
  id.service_account = path;
  if (!shaped || !is_trust_domain(id.trust_domain) || !detail::is_dns_label(id.ns) ||
      !detail::is_dns_subdomain(id.service_account)) {
    return std::nullopt;
  }
  return id;
}

}  // namespace weft::discovery
