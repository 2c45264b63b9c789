#include "agent/identity/WorkloadCertificates.hpp"

#include <openssl/x509v3.h>
#include <sys/timerfd.h>

#include <algorithm>

#include "common/Log.hpp"

namespace weft::identity {
namespace {

using std::chrono::duration_cast;
using std::chrono::seconds;
using std::chrono::system_clock;

/// A request for `spiffe_id` signed by `key`: proof of possession for the issuer.
Result<X509ReqPtr> make_request(EVP_PKEY* key, const std::string& spiffe_id) {
  X509ReqPtr req(X509_REQ_new());
  if (!req) {
    return fail(Error::Kind::System, "X509_REQ_new: out of memory");
  }
  STACK_OF(X509_EXTENSION)* exts = sk_X509_EXTENSION_new_null();
  X509_EXTENSION* san =
      X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, ("URI:" + spiffe_id).c_str());
  bool ok = exts != nullptr && san != nullptr && sk_X509_EXTENSION_push(exts, san) > 0;
  if (!ok) {
    X509_EXTENSION_free(san);
  }
  ok = ok && X509_REQ_set_version(req.get(), 0) == 1 && X509_REQ_set_pubkey(req.get(), key) == 1 &&
       X509_REQ_add_extensions(req.get(), exts) == 1 &&
       X509_REQ_sign(req.get(), key, EVP_sha256()) > 0;
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  if (!ok) {
    return fail(Error::Kind::System, "certificate request: " + drain_openssl_errors());
  }
  return req;
}

system_clock::time_point asn1_time(const ASN1_TIME* t) {
  tm parts{};
  if (ASN1_TIME_to_tm(t, &parts) != 1) {
    return {};
  }
  return system_clock::from_time_t(timegm(&parts));
}

}  // namespace

Result<std::unique_ptr<WorkloadCertificates>> WorkloadCertificates::create(
    std::unique_ptr<CertificateIssuer> issuer, seconds lifetime, prometheus::Registry& registry) {
  Fd timer(::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
  if (!timer) {
    return fail_errno("timerfd_create");
  }
  return std::unique_ptr<WorkloadCertificates>(
      new WorkloadCertificates(std::move(issuer), lifetime, std::move(timer), registry));
}

WorkloadCertificates::WorkloadCertificates(std::unique_ptr<CertificateIssuer> issuer,
                                           seconds lifetime, Fd timer,
                                           prometheus::Registry& registry)
    : issuer_(std::move(issuer)),
      lifetime_(lifetime),
      timer_(std::move(timer)),
      random_(std::random_device{}()),
      expiry_(prometheus::BuildGauge()
                  .Name("weft_identity_certificate_expiry_timestamp_seconds")
                  .Help("When the current certificate of each workload identity on this node "
                        "expires (Unix time)")
                  .Register(registry)) {
  auto& renewals = prometheus::BuildCounter()
                       .Name("weft_identity_certificate_renewals_total")
                       .Help(
                           "Renewals of workload certificates (not first issuances), by result; "
                           "a failed renewal keeps the old certificate and is retried")
                       .Register(registry);
  renewed_ok_ = &renewals.Add({{"result", "ok"}});
  renewed_error_ = &renewals.Add({{"result", "error"}});
}

Result<std::shared_ptr<const Credential>> WorkloadCertificates::request(
    const std::string& spiffe_id) {
  auto key = generate_p256_key();
  if (!key) {
    return std::unexpected(key.error());
  }
  auto csr = make_request(key->get(), spiffe_id);
  if (!csr) {
    return std::unexpected(csr.error());
  }
  auto chain = issuer_->sign(csr->get(), spiffe_id, lifetime_);
  if (!chain) {
    return std::unexpected(chain.error());
  }
  if (chain->empty() || X509_check_private_key((*chain)[0].get(), key->get()) != 1 ||
      spiffe_id_of((*chain)[0].get()) != spiffe_id) {
    return fail(Error::Kind::Protocol, "the issuer returned a certificate for another key or ID");
  }
  auto cred = std::make_shared<Credential>();
  cred->spiffe_id = spiffe_id;
  cred->generation = next_generation_++;
  cred->not_before = asn1_time(X509_get0_notBefore((*chain)[0].get()));
  cred->not_after = asn1_time(X509_get0_notAfter((*chain)[0].get()));
  cred->key = std::move(*key);
  cred->chain = std::move(*chain);
  return std::shared_ptr<const Credential>(std::move(cred));
}

bool WorkloadCertificates::issue(const std::string& spiffe_id, Entry& entry) {
  auto cred = request(spiffe_id);
  auto now = Clock::now();
  if (!cred) {
    entry.retry = std::clamp(entry.retry * 2, kFirstRetry, kMaxRetry);
    entry.due = now + entry.retry;
    log::error("identity.issue_failed", "principal={} retry_in={}s error=\"{}\"", spiffe_id,
               entry.retry.count(), cred.error().message);
    return false;
  }
  // Renew between 40% and 60% of the life left from now, so a node's identities (and the
  // nodes of a cluster) do not all renew at once.
  auto life = duration_cast<seconds>((*cred)->not_after - system_clock::now());
  std::uniform_real_distribution<double> share(0.4, 0.6);
  entry.retry = seconds(0);
  entry.due = now + duration_cast<Clock::duration>(life * share(random_));
  if (entry.expiry == nullptr) {
    entry.expiry = &expiry_.Add({{"principal", spiffe_id}});
  }
  entry.expiry->Set(static_cast<double>(system_clock::to_time_t((*cred)->not_after)));
  log::info("identity.issued", "principal={} generation={} expires_in={}s renew_in={}s", spiffe_id,
            (*cred)->generation, life.count(), duration_cast<seconds>(entry.due - now).count());
  current_[spiffe_id] = std::move(*cred);
  return true;
}

bool WorkloadCertificates::sync(const std::set<std::string>& wanted) {
  bool changed = false;
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (wanted.contains(it->first)) {
      ++it;
      continue;
    }
    if (it->second.expiry != nullptr) {
      expiry_.Remove(it->second.expiry);
    }
    changed |= current_.erase(it->first) > 0;
    log::info("identity.forgotten", "principal={}", it->first);
    it = entries_.erase(it);
  }
  for (const auto& spiffe_id : wanted) {
    auto [it, added] = entries_.try_emplace(spiffe_id);
    if (added) {
      changed |= issue(spiffe_id, it->second);
    }
  }
  arm_timer();
  return changed;
}

bool WorkloadCertificates::on_timer() {
  uint64_t expirations = 0;
  [[maybe_unused]] ssize_t n = ::read(timer_.get(), &expirations, sizeof(expirations));
  bool changed = false;
  auto now = Clock::now();
  for (auto& [spiffe_id, entry] : entries_) {
    if (entry.due > now) {
      continue;
    }
    bool renewal = current_.contains(spiffe_id);
    bool ok = issue(spiffe_id, entry);
    changed |= ok;
    if (renewal) {
      (ok ? renewed_ok_ : renewed_error_)->Increment();
    }
  }
  arm_timer();
  return changed;
}

void WorkloadCertificates::arm_timer() {
  itimerspec spec{};
  if (!entries_.empty()) {
    auto next =
        std::min_element(entries_.begin(), entries_.end(), [](const auto& a, const auto& b) {
          return a.second.due < b.second.due;
        })->second.due;
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(next.time_since_epoch()).count();
    // 0 would disarm: a due time in the past fires at once.
    ns = std::max<int64_t>(ns, 1);
    spec.it_value.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
    spec.it_value.tv_nsec = static_cast<long>(ns % 1'000'000'000);
  }
  if (::timerfd_settime(timer_.get(), TFD_TIMER_ABSTIME, &spec, nullptr) != 0) {
    log::error("identity.timer_failed", "error=\"{}\"", system_error("timerfd_settime").message);
  }
}

}  // namespace weft::identity
