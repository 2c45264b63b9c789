// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* tc (clsact ingress) on a meshed pod's interface, inside the pod's netns: a TCP SYN to one of
 * the app's ports is handed to the agent's inbound listener (0.0.0.0:15006 in the same netns)
 * with bpf_sk_assign(). The accepted socket keeps the packet's addresses, so the agent learns
 * the original destination with getsockname().
 *
 * Kernel contract: bpf_sk_assign() works at tc ingress only, with a socket of the skb's netns;
 * the TCP receive path then uses that socket instead of its own lookup (skb_steal_sock();
 * since 6.5 a SO_REUSEPORT listener still gets its group's selection). Only the SYN needs it:
 * the listener creates a request socket under the original 4-tuple, and the handshake's ACK and
 * all later segments find it by the normal established lookup.
 *
 * Fail closed: when the agent has no listener (down, crashed, restarting) or the assignment
 * fails, nobody is there to apply the pod's MeshPolicy, so the SYN is dropped (the client
 * retransmits it, and reaches the restarted agent). Only a pod the agent marked
 * WEFT_POD_PLAINTEXT_OPEN (its policy admits every plaintext client) gets the SYN passed to the
 * app meanwhile: nothing the running agent refuses is let through while it is absent.
 *
 * Which pod: weft_pods is keyed by netns cookie. bpf_get_netns_cookie(skb) is allowed in tc since
 * 6.15 but answers for skb->sk, and an arriving packet has no socket yet, so it returns
 * init_net's cookie (measured on 6.18: every SYN counted as inbound_not_meshed). The netns of the
 * device the packet arrived on is the pod's, so read skb->dev's netns cookie instead, through
 * bpf_cast_to_kern_ctx() (a kfunc, 6.3+) and CO-RE.
 */
#include "vmlinux.h"

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "include/mesh_abi.h"
#include "lib/redirect.h"

extern void* bpf_cast_to_kern_ctx(void* ctx) __ksym;

/* The cookie of the netns of the device the packet arrived on (see the header comment). */
static __always_inline __u64 ingress_netns_cookie(struct __sk_buff* ctx) {
  struct sk_buff* skb = bpf_cast_to_kern_ctx(ctx);

  return skb->dev->nd_net.net->net_cookie;
}

/* What tc ingress needs to know about a SYN. Addresses and ports in network order. */
struct syn_info {
  struct bpf_sock_tuple tuple; /* as the packet carries it: saddr/sport = the client */
  struct weft_flow_key flow;
};

/* Fills *syn for an IPv4 or IPv6 TCP SYN (without ACK) in an Ethernet frame. Returns -EINVAL for
 * anything else, which tc passes untouched and uncounted (not a decision). Headers are read
 * from the linear area: a SYN is small and arrives linear from a veth. */
static __always_inline int parse_syn(struct __sk_buff* skb, struct syn_info* syn) {
  void* data = (void*)(long)skb->data;
  void* data_end = (void*)(long)skb->data_end;
  struct tcphdr* tcp;

  __builtin_memset(syn, 0, sizeof(*syn));
  if (skb->protocol == bpf_htons(ETH_P_IP)) {
    struct iphdr* ip = data + ETH_HLEN;

    if ((void*)(ip + 1) > data_end || ip->protocol != IPPROTO_TCP ||
        (ip->frag_off & bpf_htons(IP_OFFSET)) != 0 || ip->ihl < 5) {
      return -EINVAL;
    }
    tcp = (void*)ip + ip->ihl * 4;
    if ((void*)(tcp + 1) > data_end) {
      return -EINVAL;
    }
    syn->tuple.ipv4.saddr = ip->saddr;
    syn->tuple.ipv4.daddr = ip->daddr;
    syn->tuple.ipv4.sport = tcp->source;
    syn->tuple.ipv4.dport = tcp->dest;
    syn->flow.family = WEFT_AF_INET;
    syn->flow.saddr[0] = ip->saddr;
    syn->flow.daddr[0] = ip->daddr;
  } else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
    struct ipv6hdr* ip6 = data + ETH_HLEN;

    /* A SYN with extension headers is not followed; it reaches the app directly. */
    if ((void*)(ip6 + 1) > data_end || ip6->nexthdr != IPPROTO_TCP) {
      return -EINVAL;
    }
    tcp = (void*)(ip6 + 1);
    if ((void*)(tcp + 1) > data_end) {
      return -EINVAL;
    }
    __builtin_memcpy(syn->tuple.ipv6.saddr, &ip6->saddr, 16);
    __builtin_memcpy(syn->tuple.ipv6.daddr, &ip6->daddr, 16);
    syn->tuple.ipv6.sport = tcp->source;
    syn->tuple.ipv6.dport = tcp->dest;
    syn->flow.family = WEFT_AF_INET6;
    __builtin_memcpy(syn->flow.saddr, &ip6->saddr, 16);
    __builtin_memcpy(syn->flow.daddr, &ip6->daddr, 16);
  } else {
    return -EINVAL;
  }
  if (!tcp->syn || tcp->ack) {
    return -EINVAL;
  }
  syn->flow.sport = tcp->source;
  syn->flow.dport = tcp->dest;
  return 0;
}

/* The agent's own ports are never captured: 15001 is loopback-only anyway, 15006 would loop,
 * 15008 is the tunnel other agents dial. */
static __always_inline bool is_agent_port(__u16 port) {
  return port == weft_outbound_port || port == weft_inbound_port || port == weft_tunnel_port;
}

/* Assigns the SYN to the agent's listener on the inbound port, looked up with the packet's
 * destination address so a listener bound to the pod IP matches as well as 0.0.0.0. Returns
 * -ENOENT when no listener is there, else bpf_sk_assign()'s result. */
static __always_inline int assign_to_listener(struct __sk_buff* skb, struct syn_info* syn) {
  struct bpf_sock* sk;
  long err;

  /* skc lookup: established first (none for this tuple), then listeners; a time-wait or
   * request socket could only match an identical earlier tuple, so insist on LISTEN. The tuple
   * size must be a verifier-known constant, hence one call per family. */
  if (syn->flow.family == WEFT_AF_INET) {
    syn->tuple.ipv4.dport = bpf_htons(weft_inbound_port);
    sk = bpf_skc_lookup_tcp(skb, &syn->tuple, sizeof(syn->tuple.ipv4), BPF_F_CURRENT_NETNS, 0);
  } else {
    syn->tuple.ipv6.dport = bpf_htons(weft_inbound_port);
    sk = bpf_skc_lookup_tcp(skb, &syn->tuple, sizeof(syn->tuple.ipv6), BPF_F_CURRENT_NETNS, 0);
  }
  if (!sk) {
    return -ENOENT;
  }
  if (sk->state != BPF_TCP_LISTEN) {
    bpf_sk_release(sk);
    return -ENOENT;
  }
  err = bpf_sk_assign(skb, sk, 0);
  bpf_sk_release(sk);
  return (int)err;
}

/* Decides one SYN and returns the stat to count; WEFT_STAT_INBOUND_FAIL_CLOSED drops it. */
static __always_inline enum weft_stat inbound_decide(struct __sk_buff* skb, struct syn_info* syn) {
  const struct weft_pod* pod;
  __u16 dport = bpf_ntohs(syn->flow.dport);
  int err;

  pod = pod_lookup(ingress_netns_cookie(skb));
  if (!pod) {
    /* tc stays attached to a pod the agent has removed until the interface goes. */
    return WEFT_STAT_INBOUND_NOT_MESHED;
  }
  if (is_agent_port(dport) || port_listed(pod->excluded_inbound_ports, dport)) {
    return WEFT_STAT_INBOUND_EXCLUDED_PORT;
  }
  if (bpf_map_lookup_elem(&weft_agent_flows, &syn->flow)) {
    return WEFT_STAT_INBOUND_FROM_AGENT;
  }
  err = assign_to_listener(skb, syn);
  if (err == 0) {
    return WEFT_STAT_INBOUND_ASSIGNED;
  }
  if (!(pod->flags & WEFT_POD_PLAINTEXT_OPEN)) {
    return WEFT_STAT_INBOUND_FAIL_CLOSED;
  }
  return err == -ENOENT ? WEFT_STAT_INBOUND_NO_LISTENER : WEFT_STAT_INBOUND_ASSIGN_FAILED;
}

SEC("tc")
int weft_tc_inbound(struct __sk_buff* skb) {
  struct syn_info syn;

  if (parse_syn(skb, &syn) == 0) {
    enum weft_stat decision = inbound_decide(skb, &syn);

    stat_inc(decision);
    if (decision == WEFT_STAT_INBOUND_FAIL_CLOSED) {
      return TC_ACT_SHOT;
    }
  }
  return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
