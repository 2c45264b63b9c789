/* Maps shared by weft's three BPF objects and the agent. Every map is pinned by name under the
 * agent's bpffs directory (bpf_object_open_opts.pin_root_path): the first object loaded creates
 * and pins it, the others and a restarted agent reuse the pin, provided type, key/value size,
 * max_entries and flags still match (libbpf refuses an incompatible pin rather than replacing it).
 * Two agents with different directories therefore never share a map.
 *
 * Kernel object names are cut to 15 characters (BPF_OBJ_NAME_LEN); the pin keeps the full name.
 */
#ifndef WEFT_REDIRECT_MAPS_H
#define WEFT_REDIRECT_MAPS_H

/* The layout version of the pins beside it (WEFT_ABI_VERSION), written by the agent at key 0
 * after load. No program reads it; its definition must never change. */
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u32);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} weft_abi SEC(".maps");

/* Meshed pods, keyed by netns cookie (bpf_get_netns_cookie(): unique for the boot, never reused,
 * unlike an inode number). Written only by the agent. */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4096);
  __type(key, __u64);
  __type(value, struct weft_pod);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} weft_pods SEC(".maps");

/* Destinations excluded from outbound capture (agent config, e.g. the node CIDR). An LPM trie
 * must be created with BPF_F_NO_PREALLOC. */
struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __uint(max_entries, 1024);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, struct weft_cidr4_key);
  __type(value, __u8);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} weft_excl_v4 SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __uint(max_entries, 1024);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, struct weft_cidr6_key);
  __type(value, __u8);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} weft_excl_v6 SEC(".maps");

/* Original destination of a redirected connect, keyed by socket cookie, from connect() until
 * the app's socket is established (sockops moves it to weft_orig_dst). LRU: a connect that never
 * completes leaves an entry nobody deletes. */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 65536);
  __type(key, __u64);
  __type(value, struct weft_sockaddr);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} weft_orig_by_cookie SEC(".maps");

/* Original destination keyed the way the agent can ask: (netns, peer of the accepted socket).
 * LRU: the entry must outlive the app's socket (a short-lived client may close before the agent
 * accepts), so nothing deletes it; the next connection from the same port overwrites it. */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 65536);
  __type(key, struct weft_orig_key);
  __type(value, struct weft_sockaddr);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} weft_orig_dst SEC(".maps");

/* 4-tuples of connections the agent opened from inside a meshed pod; tc ingress at the
 * destination pod lets their SYNs through to the app. Deleted when the socket closes. */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 65536);
  __type(key, struct weft_flow_key);
  __type(value, __u8);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} weft_agent_flows SEC(".maps");

/* One counter per decision (enum weft_stat). Per-CPU, so increments need no atomics; the agent
 * sums the CPUs when it reads. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, WEFT_STAT_SLOTS);
  __type(key, __u32);
  __type(value, __u64);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} weft_stats SEC(".maps");

static __always_inline void stat_inc(enum weft_stat stat) {
  __u32 key = stat;
  __u64* count = bpf_map_lookup_elem(&weft_stats, &key);

  if (count) {
    *count += 1;
  }
}

#endif /* WEFT_REDIRECT_MAPS_H */
