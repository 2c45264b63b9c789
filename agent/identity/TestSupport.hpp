// Helpers for the identity and tunnel unit tests: a fresh mesh CA as the agent would load it.
#pragma once

#include <doctest/doctest.h>

#include <memory>
#include <vector>

#include "agent/identity/LocalIssuer.hpp"
#include "agent/identity/MeshCa.hpp"
#include "agent/identity/TrustBundle.hpp"

namespace weft::identity::testing {

/// A one-certificate chain holding its own reference to `cert`.
inline std::vector<X509Ptr> chain_of(X509* cert) {
  std::vector<X509Ptr> out;
  out.push_back(share(cert));
  return out;
}

/// The trust bundle of `ca`'s anchor.
inline TrustBundle trust_of(const MeshCa& ca) {
  auto trust = TrustBundle::from(chain_of(ca.anchor.get()));
  REQUIRE(trust);
  return std::move(*trust);
}

/// `ca`'s issuer as the agent loads it (takes the issuer key out of `ca`).
inline std::unique_ptr<LocalIssuer> issuer_of(MeshCa& ca) {
  auto issuer =
      LocalIssuer::from(chain_of(ca.issuer.get()), std::move(ca.issuer_key), trust_of(ca));
  REQUIRE(issuer);
  return std::move(*issuer);
}

}  // namespace weft::identity::testing
