// A workload identity's current key and certificate chain.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "agent/identity/OpenSsl.hpp"

namespace weft::identity {

/// Immutable once issued: renewal makes a new Credential (new key, next generation), so a TLS
/// session built from an older one keeps what it had.
struct Credential {
  std::string spiffe_id;
  uint64_t generation = 0;     ///< increases with every issuance on this node
  EvpPkeyPtr key;              ///< ECDSA P-256, generated in memory, never written anywhere
  std::vector<X509Ptr> chain;  ///< leaf first, then the issuer's chain (not the trust anchor)
  std::chrono::system_clock::time_point not_before;
  std::chrono::system_clock::time_point not_after;
};

}  // namespace weft::identity
