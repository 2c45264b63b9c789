// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* cgroup/connect4 and cgroup/connect6, attached at the cgroup v2 root: a meshed pod's outbound
 * TCP connect() is rewritten to the agent's listener inside the same pod netns, and the original
 * destination is remembered under the socket's cookie.
 *
 * Kernel contract: these hooks run from the connect() syscall (tcp_v4_pre_connect /
 * tcp_v6_pre_connect) with the socket locked, before routing and before a source port is
 * chosen, so a rewrite is indistinguishable from the app having asked for 127.0.0.1:15001.
 * Returning 0 would fail the syscall with EPERM; weft never does that: when in doubt, the
 * connection goes where the app asked.
 */
#include "vmlinux.h"

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "include/mesh_abi.h"
#include "lib/redirect.h"

/* Remembers where the app wanted to go, keyed by the cookie of the socket being connected. */
static __always_inline int orig_store(struct bpf_sock_addr* ctx, const struct weft_sockaddr* orig) {
  __u64 cookie = bpf_get_socket_cookie(ctx);

  return (int)bpf_map_update_elem(&weft_orig_by_cookie, &cookie, orig, BPF_ANY);
}

/* Only TCP is proxied; UDP (DNS above all) and other protocols (MPTCP included) go direct. */
static __always_inline bool is_tcp(const struct bpf_sock_addr* ctx) {
  return ctx->type == SOCK_STREAM && ctx->protocol == IPPROTO_TCP;
}

/* The checks both families share, in order of cost. Returns the caller's pod when the connect
 * is a candidate for redirection, else NULL with the reason in *stat. The mark is read through
 * ctx->sk, which the verifier types as a non-NULL full socket in sock_addr hooks. */
static __always_inline const struct weft_pod* candidate_pod(struct bpf_sock_addr* ctx,
                                                            enum weft_stat* stat) {
  const struct weft_pod* pod;

  if (!is_tcp(ctx)) {
    *stat = WEFT_STAT_CONNECT_NOT_TCP;
    return NULL;
  }
  pod = pod_lookup(bpf_get_netns_cookie(ctx));
  if (!pod) {
    *stat = WEFT_STAT_CONNECT_NOT_MESHED;
    return NULL;
  }
  if (is_agent_mark(ctx->sk->mark)) {
    *stat = WEFT_STAT_CONNECT_AGENT_SOCKET;
    return NULL;
  }
  return pod;
}

/* Decides one IPv4 connect (also a v4-mapped one from connect6) and returns the stat to count.
 * `dst` and `port_be` are the destination as the app gave it (network order). */
static __always_inline enum weft_stat decide_v4(struct bpf_sock_addr* ctx,
                                                const struct weft_pod* pod, __be32 dst,
                                                __u16 port_be) {
  struct weft_sockaddr orig = {.port = port_be, .family = WEFT_AF_INET};

  if (ipv4_is_local(dst)) {
    return WEFT_STAT_CONNECT_LOOPBACK;
  }
  if (port_listed(pod->excluded_outbound_ports, bpf_ntohs(port_be))) {
    return WEFT_STAT_CONNECT_EXCLUDED_PORT;
  }
  if (ipv4_excluded(dst)) {
    return WEFT_STAT_CONNECT_EXCLUDED_CIDR;
  }
  orig.addr[0] = dst;
  if (orig_store(ctx, &orig) < 0) {
    /* Without the original destination the agent could not forward: leave it direct. */
    return WEFT_STAT_ORIG_DST_MAP_FULL;
  }
  stat_inc(WEFT_STAT_ORIG_DST_STORED);
  return WEFT_STAT_CONNECT_REDIRECTED;
}

SEC("cgroup/connect4")
int weft_connect4(struct bpf_sock_addr* ctx) {
  enum weft_stat stat = WEFT_STAT_CONNECT_NOT_TCP;
  const struct weft_pod* pod = candidate_pod(ctx, &stat);

  if (pod) {
    /* user_port is a __u32 whose low 16 bits hold the port in network order. */
    stat = decide_v4(ctx, pod, ctx->user_ip4, (__u16)ctx->user_port);
    if (stat == WEFT_STAT_CONNECT_REDIRECTED) {
      ctx->user_ip4 = bpf_htonl(INADDR_LOOPBACK);
      ctx->user_port = bpf_htons(weft_outbound_port);
    }
  }
  stat_inc(stat);
  return SYS_PROCEED;
}

static __always_inline enum weft_stat decide_v6(struct bpf_sock_addr* ctx,
                                                const struct weft_pod* pod, const __u32* dst,
                                                __u16 port_be) {
  struct weft_sockaddr orig = {.port = port_be, .family = WEFT_AF_INET6};

  if (ipv6_is_local(dst)) {
    return WEFT_STAT_CONNECT_LOOPBACK;
  }
  if (port_listed(pod->excluded_outbound_ports, bpf_ntohs(port_be))) {
    return WEFT_STAT_CONNECT_EXCLUDED_PORT;
  }
  if (ipv6_excluded(dst)) {
    return WEFT_STAT_CONNECT_EXCLUDED_CIDR;
  }
  orig.addr[0] = dst[0];
  orig.addr[1] = dst[1];
  orig.addr[2] = dst[2];
  orig.addr[3] = dst[3];
  if (orig_store(ctx, &orig) < 0) {
    return WEFT_STAT_ORIG_DST_MAP_FULL;
  }
  stat_inc(WEFT_STAT_ORIG_DST_STORED);
  return WEFT_STAT_CONNECT_REDIRECTED;
}

SEC("cgroup/connect6")
int weft_connect6(struct bpf_sock_addr* ctx) {
  enum weft_stat stat = WEFT_STAT_CONNECT_NOT_TCP;
  const struct weft_pod* pod = candidate_pod(ctx, &stat);
  __u32 dst[4];

  if (pod) {
    dst[0] = ctx->user_ip6[0];
    dst[1] = ctx->user_ip6[1];
    dst[2] = ctx->user_ip6[2];
    dst[3] = ctx->user_ip6[3];
    if (ipv6_is_v4mapped(dst)) {
      /* A dual-stack socket connecting to ::ffff:a.b.c.d sends IPv4 (tcp_v6_connect hands it
       * to tcp_v4_connect, and connect4 does not run): the original destination is IPv4 and
       * the agent's IPv4 listener takes it, reached as ::ffff:127.0.0.1. */
      stat = decide_v4(ctx, pod, dst[3], (__u16)ctx->user_port);
      if (stat == WEFT_STAT_CONNECT_REDIRECTED) {
        ctx->user_ip6[3] = bpf_htonl(INADDR_LOOPBACK);
        ctx->user_port = bpf_htons(weft_outbound_port);
      }
    } else {
      stat = decide_v6(ctx, pod, dst, (__u16)ctx->user_port);
      if (stat == WEFT_STAT_CONNECT_REDIRECTED) {
        ctx->user_ip6[0] = 0;
        ctx->user_ip6[1] = 0;
        ctx->user_ip6[2] = 0;
        ctx->user_ip6[3] = bpf_htonl(1);
        ctx->user_port = bpf_htons(weft_outbound_port);
      }
    }
  }
  stat_inc(stat);
  return SYS_PROCEED;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
