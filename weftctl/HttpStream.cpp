#include "weftctl/HttpStream.hpp"

#include "weftctl/HttpGet.hpp"

#include <curl/curl.h>
#include <fmt/format.h>

#include <memory>

namespace weft::weftctl {
namespace {

constexpr std::size_t kMaxLine = 1 << 20;

struct Stream {
  CURL* curl = nullptr;
  const std::function<void(std::string_view)>* on_line = nullptr;
  const std::function<bool()>* stop = nullptr;
  std::string pending;  ///< a line's start, or a refusal's body
  long status = 0;
  bool too_long = false;
  bool stopped = false;

  static std::size_t on_data(char* data, std::size_t size, std::size_t n, void* self) {
    auto* s = static_cast<Stream*>(self);
    std::size_t bytes = size * n;
    if (s->status == 0) {
      curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &s->status);
    }
    if (s->pending.size() + bytes > kMaxLine) {
      s->too_long = true;
      return 0;
    }
    s->pending.append(data, bytes);
    if (s->status != 200) {
      return bytes;  // kept whole: the reason the error names
    }
    std::size_t start = 0;
    for (std::size_t nl; (nl = s->pending.find('\n', start)) != std::string::npos; start = nl + 1) {
      (*s->on_line)(std::string_view(s->pending).substr(start, nl - start));
      if ((*s->stop)()) {
        s->stopped = true;
        return 0;
      }
    }
    s->pending.erase(0, start);
    return bytes;
  }

  static int on_progress(void* self, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    auto* s = static_cast<Stream*>(self);
    s->stopped = s->stopped || (*s->stop)();
    return s->stopped ? 1 : 0;
  }
};

}  // namespace

Result<void> http_stream_lines(const std::string& url,
                               const std::function<void(std::string_view)>& on_line,
                               const std::function<bool()>& stop,
                               std::chrono::milliseconds connect_timeout, const ClientTls* tls) {
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) {
    return fail(Error::Kind::System, "GET " + url + ": libcurl could not start");
  }
  Stream stream;
  stream.curl = curl.get();
  stream.on_line = &on_line;
  stream.stop = &stop;
  char error[CURL_ERROR_SIZE] = "";
  CURL* c = curl.get();
  set_get_options(c, url, tls != nullptr ? "https" : "http", error);
  if (tls != nullptr) {
    curl_easy_setopt(c, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_3);
    curl_easy_setopt(c, CURLOPT_SSLCERT, tls->cert.c_str());
    curl_easy_setopt(c, CURLOPT_SSLKEY, tls->key.c_str());
    curl_easy_setopt(c, CURLOPT_CAINFO, tls->cacert.c_str());
    // The agent's certificate names a SPIFFE ID, not a host: its chain to the mesh's anchor is
    // what is checked.
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(connect_timeout.count()));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &Stream::on_data);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &stream);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, &Stream::on_progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &stream);
  CURLcode rc = curl_easy_perform(c);
  if (stream.stopped) {
    return {};
  }
  if (stream.too_long) {
    return fail(Error::Kind::Protocol,
                fmt::format("GET {}: a line is longer than {} bytes", url, kMaxLine));
  }
  if (stream.status == 0) {
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &stream.status);
  }
  if (rc != CURLE_OK && stream.status == 0) {
    return fail(rc == CURLE_OPERATION_TIMEDOUT ? Error::Kind::Timeout : Error::Kind::System,
                fmt::format("GET {}: {}", url, error[0] != '\0' ? error : curl_easy_strerror(rc)));
  }
  if (stream.status != 200) {
    std::string reason = stream.pending.substr(0, stream.pending.find('\n'));
    return fail(Error::Kind::Protocol, fmt::format("GET {}: status {}{}{}", url, stream.status,
                                                   reason.empty() ? "" : ": ", reason));
  }
  if (rc != CURLE_OK) {
    return fail(Error::Kind::System,
                fmt::format("GET {}: {}", url, error[0] != '\0' ? error : curl_easy_strerror(rc)));
  }
  return {};
}

}  // namespace weft::weftctl
