#include "agent/netns/DeliveryRoute.hpp"

#include <fcntl.h>
#include <linux/fib_rules.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "agent/netns/NetSysctl.hpp"
#include "agent/netns/Netns.hpp"
#include "common/Fd.hpp"

namespace weft {
namespace {

/// One rtnetlink request: header, family-specific struct, then attributes.
class NetlinkRequest {
 public:
  NetlinkRequest(uint16_t type, uint16_t flags, const void* body, std::size_t len) {
    std::memset(buf_, 0, sizeof(buf_));
    hdr()->nlmsg_type = type;
    hdr()->nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | NLM_F_ACK | flags);
    hdr()->nlmsg_len = NLMSG_LENGTH(static_cast<uint32_t>(len));
    std::memcpy(NLMSG_DATA(hdr()), body, len);
  }

  void add_u32(uint16_t type, uint32_t value) {
    auto* rta = reinterpret_cast<rtattr*>(buf_ + NLMSG_ALIGN(hdr()->nlmsg_len));
    rta->rta_type = type;
    rta->rta_len = RTA_LENGTH(sizeof(value));
    std::memcpy(RTA_DATA(rta), &value, sizeof(value));
    hdr()->nlmsg_len = NLMSG_ALIGN(hdr()->nlmsg_len) + RTA_ALIGN(rta->rta_len);
  }

  /// Sends and waits for the kernel's ack; the errno it reports, 0 on success.
  int send(int fd) {
    if (::send(fd, buf_, hdr()->nlmsg_len, 0) < 0) {
      return errno;
    }
    alignas(nlmsghdr) char reply[512];
    ssize_t n = ::recv(fd, reply, sizeof(reply), 0);
    if (n < 0) {
      return errno;
    }
    auto* r = reinterpret_cast<nlmsghdr*>(reply);
    if (!NLMSG_OK(r, static_cast<uint32_t>(n)) || r->nlmsg_type != NLMSG_ERROR) {
      return EPROTO;
    }
    return -static_cast<nlmsgerr*>(NLMSG_DATA(r))->error;
  }

 private:
  nlmsghdr* hdr() { return reinterpret_cast<nlmsghdr*>(buf_); }
  alignas(nlmsghdr) char buf_[256];
};

Result<void> set_mark_sysctls(const std::string& proc_dir) {
  if (int err = enable_net_sysctl(proc_dir, "ipv4.tcp_fwmark_accept"); err != 0) {
    return fail_errno("set net.ipv4.tcp_fwmark_accept=1 in the pod", err);
  }
  // What the kernel answers itself (a RST from a port nobody listens on, an ICMP error) takes
  // the mark of the packet it answers, so the refusal of a delivering connect comes back to the
  // agent at once instead of being routed to the client's real address.
  if (int err = enable_net_sysctl(proc_dir, "ipv4.fwmark_reflect"); err != 0) {
    return fail_errno("set net.ipv4.fwmark_reflect=1 in the pod", err);
  }
  if (int err = enable_net_sysctl(proc_dir, "ipv6.fwmark_reflect"); err != 0 && err != ENOENT) {
    return fail_errno("set net.ipv6.fwmark_reflect=1 in the pod", err);
  }
  return {};
}

int add_rule(int fd, uint8_t family, uint32_t mark) {
  fib_rule_hdr rule{};
  rule.family = family;
  rule.action = FR_ACT_TO_TBL;
  NetlinkRequest req(RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL, &rule, sizeof(rule));
  req.add_u32(FRA_PRIORITY, kDeliveryRulePriority);
  req.add_u32(FRA_FWMARK, mark);
  req.add_u32(FRA_FWMASK, 0xffffffff);
  req.add_u32(FRA_TABLE, kDeliveryTable);
  int err = req.send(fd);
  return err == EEXIST ? 0 : err;
}

int add_local_default_route(int fd, uint8_t family, uint32_t loopback) {
  rtmsg rt{};
  rt.rtm_family = family;
  rt.rtm_table = RT_TABLE_UNSPEC;  // the table is the RTA_TABLE attribute (ids above 255)
  rt.rtm_protocol = RTPROT_STATIC;
  rt.rtm_scope = RT_SCOPE_HOST;
  rt.rtm_type = RTN_LOCAL;
  NetlinkRequest req(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, &rt, sizeof(rt));
  req.add_u32(RTA_TABLE, kDeliveryTable);
  req.add_u32(RTA_OIF, loopback);
  return req.send(fd);
}

}  // namespace

Result<void> install_delivery_route(uint32_t delivery_mark, const std::string& proc_dir) {
  if (auto ok = set_mark_sysctls(proc_dir); !ok) {
    return ok;
  }
  Fd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!fd) {
    return fail_errno("netlink socket in the pod");
  }
  auto lo = interface_index("lo");
  if (!lo) {
    return std::unexpected(lo.error());
  }
  uint32_t loopback = *lo;
  if (int err = add_rule(fd.get(), AF_INET, delivery_mark); err != 0) {
    return fail_errno("add the inbound delivery rule (IPv4)", err);
  }
  if (int err = add_local_default_route(fd.get(), AF_INET, loopback); err != 0) {
    return fail_errno("add the inbound delivery route (IPv4)", err);
  }
  // A pod without IPv6 (disabled in its netns) has nothing to route back; that is not an error.
  int err6 = add_rule(fd.get(), AF_INET6, delivery_mark);
  if (err6 == 0) {
    err6 = add_local_default_route(fd.get(), AF_INET6, loopback);
  }
  if (err6 != 0 && err6 != EAFNOSUPPORT) {
    return fail_errno("add the inbound delivery rule and route (IPv6)", err6);
  }
  return {};
}

}  // namespace weft
