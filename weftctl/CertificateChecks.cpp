#include "weftctl/CertificateChecks.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <openssl/err.h>

#include <ctime>
#include <memory>
#include <optional>

#include "agent/identity/MeshCa.hpp"
#include "agent/identity/OpenSsl.hpp"

namespace weft::weftctl {
namespace {

using identity::X509Ptr;
using std::chrono::system_clock;

constexpr const char* kCategory = "weft-identity";

std::optional<system_clock::time_point> asn1_time(const ASN1_TIME* t) {
  std::tm parts{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &parts) != 1) {
    return std::nullopt;
  }
  return system_clock::from_time_t(timegm(&parts));
}

std::string utc(system_clock::time_point t) {
  return fmt::format("{:%Y-%m-%d %H:%M:%S} UTC",
                     std::chrono::time_point_cast<std::chrono::seconds>(t));
}

/// 45 days, 5 hours, 12 minutes, 30 seconds: the largest unit that gives 2 or more.
std::string span_text(system_clock::duration d) {
  using namespace std::chrono;
  auto s = duration_cast<seconds>(d).count();
  return s >= 2 * 86400  ? fmt::format("{} days", s / 86400)
         : s >= 2 * 3600 ? fmt::format("{} hours", s / 3600)
         : s >= 120      ? fmt::format("{} minutes", s / 60)
                         : fmt::format("{} seconds", s);
}

std::string renew_hint(bool anchor) {
  return anchor ? "a new trust anchor needs a new issuer and every agent's trust-anchor.crt "
                  "changed together (weftctl ca create --dir DIR makes both); list the old and "
                  "new anchors in trust-anchor.crt while agents move over"
                : "sign a new issuer with the trust anchor's key (weftctl ca create "
                  "--keep-root-key kept it) and give it to every agent; agents read it at start";
}

/// `cert`'s validity against `now`: Error outside it, Warning within kMinCaValidity of its end.
CheckResult validity_check(std::string check, const std::string& what, const X509* cert,
                           system_clock::time_point now, bool anchor) {
  CheckResult r{.category = kCategory, .check = std::move(check)};
  auto not_before = asn1_time(X509_get0_notBefore(cert));
  auto not_after = asn1_time(X509_get0_notAfter(cert));
  if (!not_before || !not_after) {
    r.status = CheckStatus::Error;
    r.detail = fmt::format("{}: unreadable validity dates", what);
    r.hint = renew_hint(anchor);
    return r;
  }
  r.detail = fmt::format("{} {}", what, expiry_text(*not_after, now));
  if (now < *not_before) {
    r.status = CheckStatus::Error;
    r.detail = fmt::format("{} is not valid before {}, in {}", what, utc(*not_before),
                           span_text(*not_before - now));
    r.hint = "is this machine's clock behind? Otherwise wait, or make it anew";
  } else if (*not_after <= now) {
    r.status = CheckStatus::Error;
    r.hint = renew_hint(anchor);
  } else if (*not_after - now < kMinCaValidity) {
    r.status = CheckStatus::Warning;
    r.hint = renew_hint(anchor);
  }
  return r;
}

/// Whether `issuer` (with the rest of issuer.crt as intermediates) chains to one of `anchors`.
CheckResult chain_check(const std::vector<X509Ptr>& anchors, const std::vector<X509Ptr>& issuer,
                        const std::string& anchor_file) {
  CheckResult r{.category = kCategory, .check = "the issuer is signed by the trust anchor"};
  identity::X509StorePtr store(X509_STORE_new());
  std::unique_ptr<STACK_OF(X509), decltype([](STACK_OF(X509) * s) { sk_X509_free(s); })> untrusted(
      sk_X509_new_null());
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> ctx(X509_STORE_CTX_new(),
                                                                      X509_STORE_CTX_free);
  if (!store || !untrusted || !ctx) {
    r.status = CheckStatus::Error;
    r.detail = "out of memory";
    return r;
  }
  for (const X509Ptr& anchor : anchors) {
    X509_STORE_add_cert(store.get(), anchor.get());
  }
  for (std::size_t i = 1; i < issuer.size(); ++i) {
    sk_X509_push(untrusted.get(), issuer[i].get());
  }
  // Validity dates are the other checks' business: here only signatures and CA constraints.
  X509_STORE_set_flags(store.get(), X509_V_FLAG_NO_CHECK_TIME);
  int ok = X509_STORE_CTX_init(ctx.get(), store.get(), issuer.front().get(), untrusted.get()) == 1
               ? X509_verify_cert(ctx.get())
               : 0;
  if (ok != 1) {
    r.status = CheckStatus::Error;
    r.detail = fmt::format("the issuer does not chain to {}: {}", anchor_file,
                           X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get())));
    r.hint =
        "the agents refuse an issuer their trust anchor did not sign: give them the anchor and "
        "issuer of one `weftctl ca create`";
  } else {
    r.detail = fmt::format("the issuer chains to {}", anchor_file);
  }
  ERR_clear_error();
  return r;
}

}  // namespace

std::string expiry_text(system_clock::time_point not_after, system_clock::time_point now) {
  return not_after > now
             ? fmt::format("expires {}, in {}", utc(not_after), span_text(not_after - now))
             : fmt::format("expired {}, {} ago", utc(not_after), span_text(now - not_after));
}

std::vector<CheckResult> ca_checks(const std::filesystem::path& dir, system_clock::time_point now) {
  std::string anchor_file = (dir / identity::MeshCa::kAnchorFile).string();
  std::string issuer_file = (dir / identity::MeshCa::kIssuerFile).string();
  std::string anchor_check =
      fmt::format("the trust anchor is valid for at least {} days", kMinCaValidity.count());
  std::string issuer_check =
      fmt::format("the issuer is valid for at least {} days", kMinCaValidity.count());
  std::string read_hint = fmt::format(
      "point --identity-dir at the mesh CA's files (weftctl ca create --dir DIR wrote them; in "
      "a cluster, the weft-trust-anchor ConfigMap and the weft-issuer Secret hold them)");
  std::vector<CheckResult> out;
  auto anchors = identity::read_certificates(anchor_file);
  auto issuer = identity::read_certificates(issuer_file);
  if (!anchors) {
    out.push_back(
        {kCategory, anchor_check, CheckStatus::Error, anchors.error().message, read_hint});
  } else {
    for (std::size_t i = 0; i < anchors->size(); ++i) {
      std::string what =
          anchors->size() == 1 ? anchor_file : fmt::format("{} (#{})", anchor_file, i + 1);
      out.push_back(validity_check(anchor_check, what, (*anchors)[i].get(), now, true));
    }
  }
  if (!issuer) {
    out.push_back({kCategory, issuer_check, CheckStatus::Error, issuer.error().message, read_hint});
  } else {
    out.push_back(validity_check(issuer_check, issuer_file, issuer->front().get(), now, false));
  }
  if (anchors && issuer) {
    out.push_back(chain_check(*anchors, *issuer, anchor_file));
  }
  return out;
}

}  // namespace weft::weftctl
