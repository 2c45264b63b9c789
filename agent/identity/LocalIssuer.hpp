// The embedded issuer: signs workload certificates inside the agent with an issuer certificate
// and key read from files (made by `weftctl ca create`, or by the operator's own PKI).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "agent/identity/CertificateIssuer.hpp"
#include "agent/identity/TrustBundle.hpp"

namespace weft::identity {

class LocalIssuer final : public CertificateIssuer {
 public:
  /// Clocks of different nodes disagree: certificates start this long before they are signed.
  static constexpr std::chrono::seconds kClockSkew{60};

  /// `cert_file` holds the issuer certificate first, then any intermediates up to (not
  /// necessarily including) the anchor. Refused unless the certificate is a CA, matches the key
  /// and chains to `trust` now.
  static Result<std::unique_ptr<LocalIssuer>> load(const std::string& cert_file,
                                                   const std::string& key_file,
                                                   const TrustBundle& trust);
  static Result<std::unique_ptr<LocalIssuer>> from(std::vector<X509Ptr> chain, EvpPkeyPtr key,
                                                   const TrustBundle& trust);

  /// The leaf ends no later than the issuer certificate does.
  Result<std::vector<X509Ptr>> sign(X509_REQ* csr, const std::string& spiffe_id,
                                    std::chrono::seconds lifetime) override;

 private:
  LocalIssuer(std::vector<X509Ptr> chain, EvpPkeyPtr key)
      : chain_(std::move(chain)), key_(std::move(key)) {}

  std::vector<X509Ptr> chain_;  ///< issuer first
  EvpPkeyPtr key_;
};

}  // namespace weft::identity
