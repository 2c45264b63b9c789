// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* sockops, attached at the cgroup v2 root. Two jobs:
 *  - when a redirected app socket is established, re-key its original destination from the
 *    socket cookie (known at connect time) to (netns, app's local address), which is what the
 *    agent sees as the peer of the connection it accepts on 15001;
 *  - when the agent connects from inside a meshed pod, record the 4-tuple before the SYN leaves,
 *    so tc ingress at the destination pod does not capture the agent's own connection.
 *
 * Kernel contract: ACTIVE_ESTABLISHED_CB runs in tcp_finish_connect() on the SYN-ACK, before the
 * client sends its ACK, so the entry exists before the agent's accept() can return the
 * connection. TCP_CONNECT_CB runs in tcp_connect() after the source address and port are chosen
 * and before the SYN is built. Neither needs bpf_sock_ops_cb_flags; STATE_CB does and is enabled
 * per socket. In sock_ops, local_port is host order and remote_port is network order shifted
 * into the upper 16 bits of the __u32 on little-endian (sock_ops_convert_ctx_access()).
 */
#include "vmlinux.h"

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "include/mesh_abi.h"
#include "lib/redirect.h"

/* Network-order port of the remote end, as the wire and struct weft_flow_key carry it. */
static __always_inline __u16 remote_port_be(const struct bpf_sock_ops* skops) {
  return bpf_htons((__u16)bpf_ntohl(skops->remote_port));
}

/* The socket's local address. A dual-stack socket with a v4-mapped address talks IPv4 and is
 * recorded as AF_INET, which is how the agent's IPv4 listener sees its peer. */
static __always_inline void local_sockaddr(const struct bpf_sock_ops* skops,
                                           struct weft_sockaddr* out) {
  __u32 addr[4];

  out->port = bpf_htons((__u16)skops->local_port);
  if (skops->family == AF_INET) {
    out->family = WEFT_AF_INET;
    out->addr[0] = skops->local_ip4;
    return;
  }
  addr[0] = skops->local_ip6[0];
  addr[1] = skops->local_ip6[1];
  addr[2] = skops->local_ip6[2];
  addr[3] = skops->local_ip6[3];
  if (ipv6_is_v4mapped(addr)) {
    out->family = WEFT_AF_INET;
    out->addr[0] = addr[3];
    return;
  }
  out->family = WEFT_AF_INET6;
  out->addr[0] = addr[0];
  out->addr[1] = addr[1];
  out->addr[2] = addr[2];
  out->addr[3] = addr[3];
}

/* Moves a redirected socket's original destination to weft_orig_dst. Returns -ENOENT for the
 * (common) socket that was never redirected. */
static __always_inline int orig_rekey(struct bpf_sock_ops* skops) {
  __u64 cookie = bpf_get_socket_cookie(skops);
  struct weft_sockaddr* orig = bpf_map_lookup_elem(&weft_orig_by_cookie, &cookie);
  struct weft_orig_key key;
  int err;

  if (!orig) {
    return -ENOENT;
  }
  __builtin_memset(&key, 0, sizeof(key));
  key.netns_cookie = bpf_get_netns_cookie(skops);
  local_sockaddr(skops, &key.peer);
  err = (int)bpf_map_update_elem(&weft_orig_dst, &key, orig, BPF_ANY);
  bpf_map_delete_elem(&weft_orig_by_cookie, &cookie);
  return err;
}

/* The 4-tuple as the destination sees it: saddr/sport are this socket's local end. */
static __always_inline void flow_key(const struct bpf_sock_ops* skops, struct weft_flow_key* key) {
  __u32 remote[4];

  __builtin_memset(key, 0, sizeof(*key));
  key->sport = bpf_htons((__u16)skops->local_port);
  key->dport = remote_port_be(skops);
  if (skops->family == AF_INET) {
    key->family = WEFT_AF_INET;
    key->saddr[0] = skops->local_ip4;
    key->daddr[0] = skops->remote_ip4;
    return;
  }
  remote[0] = skops->remote_ip6[0];
  remote[1] = skops->remote_ip6[1];
  remote[2] = skops->remote_ip6[2];
  remote[3] = skops->remote_ip6[3];
  if (ipv6_is_v4mapped(remote)) {
    key->family = WEFT_AF_INET;
    key->saddr[0] = skops->local_ip6[3];
    key->daddr[0] = remote[3];
    return;
  }
  key->family = WEFT_AF_INET6;
  key->saddr[0] = skops->local_ip6[0];
  key->saddr[1] = skops->local_ip6[1];
  key->saddr[2] = skops->local_ip6[2];
  key->saddr[3] = skops->local_ip6[3];
  key->daddr[0] = remote[0];
  key->daddr[1] = remote[1];
  key->daddr[2] = remote[2];
  key->daddr[3] = remote[3];
}

/* Records an agent connection leaving a meshed pod. Returns -ENOENT when the socket is not the
 * agent's or its netns is not meshed. */
static __always_inline int agent_flow_record(struct bpf_sock_ops* skops) {
  struct bpf_sock* sk = skops->sk;
  struct weft_flow_key key;
  __u8 one = 1;
  int err;

  /* skops->sk is NULL for request sockets and time-wait sockets; at TCP_CONNECT_CB it is the
   * full connecting socket. */
  if (!sk || !is_agent_mark(sk->mark)) {
    return -ENOENT;
  }
  if (!pod_lookup(bpf_get_netns_cookie(skops))) {
    return -ENOENT;
  }
  flow_key(skops, &key);
  err = (int)bpf_map_update_elem(&weft_agent_flows, &key, &one, BPF_ANY);
  if (err) {
    return err;
  }
  /* Ask for BPF_SOCK_OPS_STATE_CB on this socket only, to forget the tuple on close. */
  bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags | BPF_SOCK_OPS_STATE_CB_FLAG);
  return 0;
}

static __always_inline void agent_flow_forget(struct bpf_sock_ops* skops) {
  struct weft_flow_key key;

  /* args[1] is the new state (tcp_set_state() calls us before it unhashes the socket, so the
   * addresses are still those of the connection). */
  if (skops->args[1] != BPF_TCP_CLOSE) {
    return;
  }
  flow_key(skops, &key);
  bpf_map_delete_elem(&weft_agent_flows, &key);
}

SEC("sockops")
int weft_sockops(struct bpf_sock_ops* skops) {
  int err;

  switch (skops->op) {
    case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
      err = orig_rekey(skops);
      if (err == 0) {
        stat_inc(WEFT_STAT_ORIG_DST_REKEYED);
      } else if (err != -ENOENT) {
        stat_inc(WEFT_STAT_ORIG_DST_MAP_FULL);
      }
      break;
    case BPF_SOCK_OPS_TCP_CONNECT_CB:
      err = agent_flow_record(skops);
      if (err == 0) {
        stat_inc(WEFT_STAT_AGENT_FLOW_RECORDED);
      }
      break;
    case BPF_SOCK_OPS_STATE_CB:
      agent_flow_forget(skops);
      break;
    default:
      break;
  }
  /* The return value is the reply for ops that ask one (e.g. TIMEOUT_INIT); 1 means "no
   * opinion" for the ops above. */
  return 1;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
