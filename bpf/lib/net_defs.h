/* UAPI constants that vmlinux.h cannot carry: BTF describes types, and these are #defines in the
 * kernel headers. Values are ABI and never change.
 */
#ifndef WEFT_NET_DEFS_H
#define WEFT_NET_DEFS_H

#define ENOENT 2
#define EINVAL 22

#define AF_INET 2
#define AF_INET6 10
#define SOCK_STREAM 1
#define ETH_HLEN 14
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define IP_MF 0x2000     /* iphdr.frag_off: more fragments */
#define IP_OFFSET 0x1FFF /* iphdr.frag_off: fragment offset in 8-byte units */
#define INADDR_LOOPBACK 0x7f000001
#define TC_ACT_OK 0
#define TC_ACT_SHOT 2
#define BPF_F_CURRENT_NETNS (-1L) /* bpf_sk*_lookup_*(): the netns of the skb's device */

/* Return value of cgroup sock_addr hooks: 1 lets the syscall proceed, 0 fails it with EPERM.
 * weft never fails a connect, so every entry point returns this. */
#define SYS_PROCEED 1

#endif /* WEFT_NET_DEFS_H */
