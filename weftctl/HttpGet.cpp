#include "weftctl/HttpGet.hpp"

#include <algorithm>

#include <curl/curl.h>
#include <fmt/format.h>

#include <memory>

namespace weft::weftctl {
namespace {

struct Body {
  std::string text;
  std::size_t max = 0;
  bool too_long = false;

  static std::size_t on_data(char* data, std::size_t size, std::size_t n, void* self) {
    auto* body = static_cast<Body*>(self);
    if (body->text.size() + size * n > body->max) {
      body->too_long = true;
      return 0;  // libcurl stops with CURLE_WRITE_ERROR
    }
    body->text.append(data, size * n);
    return size * n;
  }
};

}  // namespace

Result<std::string> http_get(const std::string& url, std::chrono::milliseconds timeout,
                             std::size_t max_bytes) {
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) {
    return fail(Error::Kind::System, "GET " + url + ": libcurl could not start");
  }
  Body body;
  body.max = max_bytes;
  char error[CURL_ERROR_SIZE] = "";
  CURL* c = curl.get();
  set_get_options(c, url, "http", error);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &Body::on_data);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
  CURLcode rc = curl_easy_perform(c);
  if (body.too_long) {
    return fail(Error::Kind::Protocol,
                fmt::format("GET {}: the answer is longer than {} bytes", url, max_bytes));
  }
  if (rc != CURLE_OK) {
    return fail(rc == CURLE_OPERATION_TIMEDOUT ? Error::Kind::Timeout : Error::Kind::System,
                fmt::format("GET {}: {}", url, error[0] != '\0' ? error : curl_easy_strerror(rc)));
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (status != 200) {
    // An agent says why in the first line of a plain-text answer (400 names the bad key).
    std::string_view why(body.text);
    why = why.substr(0, std::min<std::size_t>(why.find('\n'), 200));
    bool printable = std::ranges::all_of(why, [](char ch) { return ch >= 0x20 && ch < 0x7f; });
    return fail(Error::Kind::Protocol, fmt::format("GET {}: status {}{}{}", url, status,
                                                   why.empty() || !printable ? "" : ": ",
                                                   printable ? why : std::string_view()));
  }
  return std::move(body.text);
}

void set_get_options(CURL* curl, const std::string& url, const char* protocols, char* error) {
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, protocols);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "weftctl/" WEFT_VERSION);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
}

std::string url_escape(std::string_view text) {
  std::unique_ptr<char, decltype(&curl_free)> escaped(
      curl_easy_escape(nullptr, text.data(), static_cast<int>(text.size())), curl_free);
  return escaped ? std::string(escaped.get()) : std::string();
}

}  // namespace weft::weftctl
