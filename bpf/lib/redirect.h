/* Logic shared by weft's hooks: configuration, pod lookup and address predicates. Helpers that
 * can fail return 0 or -errno; only the SEC() entry points turn results into verdicts.
 */
#ifndef WEFT_REDIRECT_H
#define WEFT_REDIRECT_H

#include "lib/net_defs.h"
#include "lib/redirect_maps.h"

/* Set by the agent through the skeleton's rodata before load; the verifier then sees them as
 * constants. weft_agent_mark is never 0 (the loader refuses it): every ordinary socket has
 * mark 0, so 0 would exempt everything. */
const volatile __u32 weft_agent_mark = 0;
const volatile __u16 weft_outbound_port = WEFT_OUTBOUND_PORT;
const volatile __u16 weft_inbound_port = WEFT_INBOUND_PORT;
const volatile __u16 weft_tunnel_port = WEFT_TUNNEL_PORT;

static __always_inline const struct weft_pod* pod_lookup(__u64 netns_cookie) {
  return bpf_map_lookup_elem(&weft_pods, &netns_cookie);
}

/* Host-order port lists end at the first 0. */
static __always_inline bool port_listed(const __u16* ports, __u16 port) {
  for (int i = 0; i < WEFT_MAX_EXCLUDED_PORTS; i++) {
    if (ports[i] == 0) {
      return false;
    }
    if (ports[i] == port) {
      return true;
    }
  }
  return false;
}

/* SO_MARK of a socket the agent opened itself (it sets the mark before connect()). */
static __always_inline bool is_agent_mark(__u32 mark) {
  return (mark & ~WEFT_DELIVERY_MARK_BIT) == weft_agent_mark;
}

/* 127.0.0.0/8, and 0.0.0.0, which connect() treats as "this host" (RFC 1122 3.2.1.3). */
static __always_inline bool ipv4_is_local(__be32 addr) {
  return (addr & bpf_htonl(0xff000000)) == bpf_htonl(0x7f000000) || addr == 0;
}

/* ::1 and :: (connect() to :: reaches the local host too). */
static __always_inline bool ipv6_is_local(const __u32* addr) {
  return addr[0] == 0 && addr[1] == 0 && addr[2] == 0 && (addr[3] == bpf_htonl(1) || addr[3] == 0);
}

/* ::ffff:a.b.c.d (RFC 4291 2.5.5.2): a dual-stack socket talking IPv4. */
static __always_inline bool ipv6_is_v4mapped(const __u32* addr) {
  return addr[0] == 0 && addr[1] == 0 && addr[2] == bpf_htonl(0xffff);
}

static __always_inline bool ipv4_excluded(__be32 addr) {
  struct weft_cidr4_key key = {.prefixlen = 32, .addr = addr};

  return bpf_map_lookup_elem(&weft_excl_v4, &key) != NULL;
}

static __always_inline bool ipv6_excluded(const __u32* addr) {
  struct weft_cidr6_key key = {.prefixlen = 128};

  key.addr[0] = addr[0];
  key.addr[1] = addr[1];
  key.addr[2] = addr[2];
  key.addr[3] = addr[3];
  return bpf_map_lookup_elem(&weft_excl_v6, &key) != NULL;
}

#endif /* WEFT_REDIRECT_H */
