// One X.509 certificate as the mesh issues them: the trust anchor and issuer that `weftctl ca
// create` makes, and the workload certificates the local issuer signs.
#pragma once

#include <chrono>
#include <string>

#include "agent/identity/OpenSsl.hpp"

namespace weft::identity {

struct CertificateSpec {
  std::string common_name;  ///< subject CN; empty for workload certificates (identity is the SAN)
  std::string spiffe_id;    ///< URI SAN (critical when the subject is empty); empty for none
  bool ca = false;          ///< CA:TRUE, keyCertSign; otherwise a TLS client+server leaf
  int path_length = -1;     ///< CA path length constraint, -1 for none
  std::chrono::system_clock::time_point not_before;
  std::chrono::system_clock::time_point not_after;
};

/// Signs (ECDSA with SHA-256) a certificate for the public half of `subject_key` with a random
/// 127-bit serial. Self-signed when `issuer` is null (then `issuer_key` is `subject_key`).
Result<X509Ptr> sign_certificate(const CertificateSpec& spec, EVP_PKEY* subject_key, X509* issuer,
                                 EVP_PKEY* issuer_key);

}  // namespace weft::identity
