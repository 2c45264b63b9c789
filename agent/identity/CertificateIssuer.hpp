// Where workload certificates come from. The agent holds one issuer and asks it for a
// certificate per workload identity; the local issuer signs in-process, a remote issuer service
// (cluster mode) implements the same call. The data path only ever sees the resulting
// Credential, so swapping issuers does not touch it.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "agent/identity/OpenSsl.hpp"

namespace weft::identity {

class CertificateIssuer {
 public:
  virtual ~CertificateIssuer() = default;

  /// A certificate chain (leaf first) for the public key of `csr` (whose signature proves
  /// possession of the private key), naming `spiffe_id` as its only URI SAN, valid for about
  /// `lifetime` from now. Called on the agent's control thread.
  virtual Result<std::vector<X509Ptr>> sign(X509_REQ* csr, const std::string& spiffe_id,
                                            std::chrono::seconds lifetime) = 0;
};

}  // namespace weft::identity
