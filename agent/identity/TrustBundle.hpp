// The mesh's trust anchors: the root certificates every peer chain must lead to.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "agent/identity/OpenSsl.hpp"

namespace weft::identity {

class TrustBundle {
 public:
  /// Every certificate in the PEM file; each must be a CA certificate.
  static Result<TrustBundle> load(const std::string& path);
  static Result<TrustBundle> from(std::vector<X509Ptr> anchors);

  /// For TLS contexts (they take their own reference) and chain checks. Owned by the bundle.
  X509_STORE* store() const { return store_.get(); }

  /// Checks that `chain` (leaf first, then intermediates) leads to an anchor, now.
  Result<void> verify(std::span<const X509Ptr> chain) const;

 private:
  explicit TrustBundle(X509StorePtr store) : store_(std::move(store)) {}
  X509StorePtr store_;
};

}  // namespace weft::identity
