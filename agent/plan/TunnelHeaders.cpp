#include "agent/plan/TunnelHeaders.hpp"

#include "common/Forwarded.hpp"

namespace weft::proxy {

void add_tunnel_claims(l7::Headers& head, const FlowPlan& plan, std::string_view client_header) {
  if (plan.client_ip) {
    head.push_back({std::string(client_header), forwarded_for(*plan.client_ip)});
  }
  if (plan.service_address) {
    head.push_back({std::string(kServiceAddressHeader), plan.service_address->str()});
  }
}

TunnelRequest read_tunnel_claims(const l7::Headers& head, std::string_view client_header,
                                 const SockAddr& target, const IpAddr& tunnel_source) {
  const std::string* forwarded = l7::find_header(head, client_header);
  const std::string* service = l7::find_header(head, kServiceAddressHeader);
  return TunnelRequest{target,
                       (forwarded != nullptr ? parse_forwarded_for(*forwarded) : std::nullopt)
                           .value_or(tunnel_source),
                       service != nullptr ? SockAddr::parse(*service) : std::nullopt};
}

}  // namespace weft::proxy
