// The BPF <-> agent ABI (bpf/include/mesh_abi.h) seen from C++, with its layout pinned so that a
// change on either side breaks the build instead of silently misreading a map.
#pragma once

#include <linux/types.h>

#include <cstddef>
#include <optional>

#include "bpf/include/mesh_abi.h"
#include "common/IpAddr.hpp"

static_assert(sizeof(weft_pod) == 72);
static_assert(offsetof(weft_pod, excluded_outbound_ports) == 8);
static_assert(offsetof(weft_pod, excluded_inbound_ports) == 40);
static_assert(sizeof(weft_sockaddr) == 20);
static_assert(offsetof(weft_sockaddr, port) == 16);
static_assert(offsetof(weft_sockaddr, family) == 18);
static_assert(sizeof(weft_orig_key) == 32);
static_assert(offsetof(weft_orig_key, peer) == 8);
static_assert(offsetof(weft_orig_key, pad) == 28);
static_assert(sizeof(weft_flow_key) == 40);
static_assert(offsetof(weft_flow_key, sport) == 32);
static_assert(offsetof(weft_flow_key, family) == 36);
static_assert(sizeof(weft_cidr4_key) == 8);
static_assert(sizeof(weft_cidr6_key) == 20);
static_assert(WEFT_AF_INET == AF_INET && WEFT_AF_INET6 == AF_INET6);
static_assert(WEFT_STAT__COUNT <= WEFT_STAT_SLOTS);

namespace weft::redirect {

/// An address as the BPF maps store it (network order, IPv4 in addr[0]), padding zeroed.
weft_sockaddr to_abi(const SockAddr& addr);
/// The inverse of to_abi(); nullopt for an unknown family.
std::optional<SockAddr> from_abi(const weft_sockaddr& addr);

}  // namespace weft::redirect
