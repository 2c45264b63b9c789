// The MeshPolicy verdict for one inbound connection: may this source reach this pod? A pure
// function of the World, so every worker calls it per connection without locks.
#pragma once

#include <string_view>

#include "agent/discovery/World.hpp"

namespace weft::policy {

/// Who is connecting.
struct Source {
  /// The peer's verified SPIFFE ID (mTLS); empty = unauthenticated (plaintext).
  std::string_view principal;
};

enum class Verdict {
  Allow,
  DenyNotAllowed,  ///< a selecting policy has `allow` and the source matches none of them
  DenyPlaintext,   ///< a selecting policy is STRICT and the source is unauthenticated
};

/// A verdict plus its metric/log spelling.
struct Decision {
  Verdict verdict = Verdict::Allow;

  bool allowed() const { return verdict == Verdict::Allow; }
  /// "allowed", "not_allowed" or "plaintext_in_strict" (the `reason` label of
  /// weft_tcp_connections_denied_total).
  std::string_view reason() const;
};

/// Applies the MeshPolicies of `world` that select `destination` to `source` (semantics in
/// agent/discovery/README.md). `destination` may be nullptr (a pod discovery does not know):
/// then, as for a pod no policy selects, PERMISSIVE and every source allowed. Allocation-free.
Decision authorize(const discovery::World& world, const discovery::PodInfo* destination,
                   const Source& source);

}  // namespace weft::policy
