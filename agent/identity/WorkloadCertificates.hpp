// The certificates of the workload identities on this node: one per identity, shared by that
// identity's pods, issued when the first such pod appears, renewed at a jittered point between
// 40% and 60% of its life, forgotten when the last such pod goes. Runs on the control thread;
// a timerfd says when the next renewal is due.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <chrono>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>

#include "agent/identity/CertificateIssuer.hpp"
#include "agent/identity/Credential.hpp"
#include "common/Fd.hpp"

namespace weft::identity {

class WorkloadCertificates {
 public:
  using Clock = std::chrono::steady_clock;
  /// After a failed issuance the next try comes this soon, doubling up to kMaxRetry.
  static constexpr std::chrono::seconds kFirstRetry{2};
  static constexpr std::chrono::seconds kMaxRetry{60};

  static Result<std::unique_ptr<WorkloadCertificates>> create(
      std::unique_ptr<CertificateIssuer> issuer, std::chrono::seconds lifetime,
      prometheus::Registry& registry);

  /// Issues certificates for identities in `wanted` that have none yet and forgets the others.
  /// Returns true when current() changed.
  bool sync(const std::set<std::string>& wanted);

  /// Identities with a valid certificate, by SPIFFE ID.
  const std::map<std::string, std::shared_ptr<const Credential>>& current() const {
    return current_;
  }

  /// Readable when a renewal (or a retry) is due.
  int fd() const { return timer_.get(); }
  /// Renews what is due; true when current() changed.
  bool on_timer();

 private:
  struct Entry {
    Clock::time_point due;  ///< next renewal or retry
    std::chrono::seconds retry{0};
    prometheus::Gauge* expiry = nullptr;
  };

  WorkloadCertificates(std::unique_ptr<CertificateIssuer> issuer, std::chrono::seconds lifetime,
                       Fd timer, prometheus::Registry& registry);
  /// A new key and certificate for `spiffe_id`; true on success.
  bool issue(const std::string& spiffe_id, Entry& entry);
  Result<std::shared_ptr<const Credential>> request(const std::string& spiffe_id);
  void arm_timer();

  std::unique_ptr<CertificateIssuer> issuer_;
  std::chrono::seconds lifetime_;
  Fd timer_;
  std::map<std::string, Entry> entries_;
  std::map<std::string, std::shared_ptr<const Credential>> current_;
  uint64_t next_generation_ = 1;
  std::mt19937_64 random_;
  prometheus::Family<prometheus::Gauge>& expiry_;
  prometheus::Counter* renewed_ok_ = nullptr;
  prometheus::Counter* renewed_error_ = nullptr;
};

}  // namespace weft::identity
