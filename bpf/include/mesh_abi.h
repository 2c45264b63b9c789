/* The contract between weft's eBPF programs and weft-agent: map keys and values, ports and
 * reason codes. Included by the BPF C programs (after vmlinux.h) and by the agent (after
 * <linux/types.h>); the agent pins the layout with static_asserts in agent/redirect/. There is
 * no second copy of anything in this file.
 */
#ifndef WEFT_MESH_ABI_H
#define WEFT_MESH_ABI_H

/* Version of everything below and of the pinned maps' definitions (bpf/lib/redirect_maps.h).
 * Two agents share the pins during a hand-over, and the pins outlive every agent: an agent
 * refuses to start on pins whose version (the one entry of the map weft_abi, whose own
 * definition never changes) is not its own. Bump it with any change a running peer would
 * misread: a map's key, value, type, size or meaning, a flag, a port. */
#define WEFT_ABI_VERSION 1

/* Listeners the agent owns inside every meshed pod. */
#define WEFT_OUTBOUND_PORT 15001 /* 127.0.0.1 / [::1]: redirected outbound connections */
#define WEFT_INBOUND_PORT 15006  /* 0.0.0.0: inbound plaintext, assigned by tc */
#define WEFT_TUNNEL_PORT 15008   /* 0.0.0.0: mTLS tunnel from other agents */

/* Added to the agent's socket mark on the sockets that deliver inbound connections to an app
 * with the client's address (IP_TRANSPARENT); the pod's return route matches it. The BPF hooks
 * treat both marks as the agent's. */
#define WEFT_DELIVERY_MARK_BIT 0x40000000u

#define WEFT_MAX_EXCLUDED_PORTS 16
#define WEFT_AF_INET 2
#define WEFT_AF_INET6 10

/* weft_pod.flags: any plaintext client may reach the pod's apps (its MeshPolicy neither is
 * STRICT nor has an allow list), so while no agent is there to decide, tc ingress passes such
 * SYNs to the app. Without it (the default, 0) they are dropped: the pod fails closed. */
#define WEFT_POD_PLAINTEXT_OPEN 0x1u

/* Value of weft_pods, keyed by the pod's netns cookie (__u64). Presence means "meshed". */
struct weft_pod {
  __u32 pod_id; /* the agent's handle for the pod, echoed back in logs */
  __u32 flags;  /* WEFT_POD_* */
  /* Host byte order; 0 ends the list early. */
  __u16 excluded_outbound_ports[WEFT_MAX_EXCLUDED_PORTS];
  __u16 excluded_inbound_ports[WEFT_MAX_EXCLUDED_PORTS];
};

/* An IPv4 or IPv6 socket address. IPv4 uses addr[0]; addr and port are in network order. */
struct weft_sockaddr {
  __u32 addr[4];
  __u16 port;
  __u16 family; /* WEFT_AF_INET or WEFT_AF_INET6 */
};

/* Key of weft_orig_dst: the app's end of a redirected connection, as the agent sees it as the
 * peer of the accepted socket, qualified by the pod's netns (loopback addresses repeat in every
 * pod). Filled by sockops once the app's socket is established. */
struct weft_orig_key {
  __u64 netns_cookie;
  struct weft_sockaddr peer; /* the app socket's local address, e.g. 127.0.0.1:43012 */
  __u32 pad;                 /* 0: hash keys compare every byte, so padding is named */
};

/* Key of weft_agent_flows: a connection the agent itself opened from inside a pod. tc ingress on
 * the destination pod leaves these alone, so agent-to-app traffic is not captured twice. */
struct weft_flow_key {
  __u32 saddr[4];
  __u32 daddr[4];
  __u16 sport; /* network order */
  __u16 dport; /* network order */
  __u32 family;
};

/* LPM key for the excluded-destination tries (prefixlen in bits, addr in network order). */
struct weft_cidr4_key {
  __u32 prefixlen;
  __u32 addr;
};
struct weft_cidr6_key {
  __u32 prefixlen;
  __u32 addr[4];
};

/* Index into the per-CPU counter array weft_stats: why a hook did or did not act. */
enum weft_stat {
  WEFT_STAT_CONNECT_REDIRECTED = 0,
  WEFT_STAT_CONNECT_NOT_MESHED,
  WEFT_STAT_CONNECT_AGENT_SOCKET,
  WEFT_STAT_CONNECT_LOOPBACK,
  WEFT_STAT_CONNECT_EXCLUDED_PORT,
  WEFT_STAT_CONNECT_EXCLUDED_CIDR,
  WEFT_STAT_CONNECT_NOT_TCP,
  WEFT_STAT_ORIG_DST_STORED,
  WEFT_STAT_ORIG_DST_REKEYED,
  WEFT_STAT_ORIG_DST_MAP_FULL,
  WEFT_STAT_AGENT_FLOW_RECORDED,
  WEFT_STAT_INBOUND_ASSIGNED,
  WEFT_STAT_INBOUND_FROM_AGENT,
  WEFT_STAT_INBOUND_EXCLUDED_PORT,
  WEFT_STAT_INBOUND_NO_LISTENER,   /* no agent listener (down, restarting): passed, pod open */
  WEFT_STAT_INBOUND_ASSIGN_FAILED, /* bpf_sk_assign() failed: passed, pod open */
  WEFT_STAT_INBOUND_NOT_MESHED,
  WEFT_STAT_INBOUND_FAIL_CLOSED, /* either of those two for a pod that is not open: dropped */
  WEFT_STAT__COUNT,
};

/* Slots of weft_stats: more than there are reasons, so that adding one keeps the pinned map's
 * layout (a pinned map of another size cannot be reused). */
#define WEFT_STAT_SLOTS 64

#endif /* WEFT_MESH_ABI_H */
