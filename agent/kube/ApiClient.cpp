#include "agent/kube/ApiClient.hpp"

#include <curl/curl.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include <charconv>
#include <mutex>

#include "common/AtomicFile.hpp"

namespace weft::kube {
namespace {

CURL* handle(void* curl) {
  return static_cast<CURL*>(curl);
}

/// curl_slist owner.
struct Headers {
  curl_slist* list = nullptr;
  void add(const std::string& line) { list = curl_slist_append(list, line.c_str()); }
  ~Headers() { curl_slist_free_all(list); }
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

bool iequals_prefix(std::string_view line, std::string_view prefix) {
  if (line.size() < prefix.size()) {
    return false;
  }
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(line[i])) != prefix[i]) {
      return false;
    }
  }
  return true;
}

void set_pem(CURL* curl, CURLoption blob_option, CURLoption file_option, const PemSource& pem) {
  if (!pem.pem.empty()) {
    curl_blob blob{const_cast<char*>(pem.pem.data()), pem.pem.size(), CURL_BLOB_COPY};
    curl_easy_setopt(curl, blob_option, &blob);
  } else if (!pem.file.empty()) {
    curl_easy_setopt(curl, file_option, pem.file.c_str());
  }
}

}  // namespace

/// One request's state, reached from curl's callbacks.
struct ApiClient::Transfer {
  CURL* curl = nullptr;
  const std::atomic<bool>* stop = nullptr;
  const std::function<bool(std::string_view)>* on_line = nullptr;  ///< a stream, or null
  ApiResponse response;
  bool ended_by_reader = false;
  bool too_large = false;

  static size_t on_header(char* data, size_t size, size_t count, void* self) {
    auto* t = static_cast<Transfer*>(self);
    std::string_view line(data, size * count);
    if (line.starts_with("HTTP/")) {
      t->response.retry_after = std::chrono::seconds(0);  // a new response (after a 100, say)
    } else if (iequals_prefix(line, "retry-after:")) {
      std::string_view value = trim(line.substr(12));
      long seconds = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
      if (ec == std::errc() && end == value.data() + value.size() && seconds >= 0) {
        t->response.retry_after = std::chrono::seconds(seconds);
      }
    }
    return size * count;
  }

  static size_t on_body(char* data, size_t size, size_t count, void* self) {
    auto* t = static_cast<Transfer*>(self);
    std::string& body = t->response.body;
    body.append(data, size * count);
    long status = 0;
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
    if (t->on_line != nullptr && status == 200) {
      std::size_t start = 0;
      for (std::size_t nl; (nl = body.find('\n', start)) != std::string::npos; start = nl + 1) {
        std::string_view line(body.data() + start, nl - start);
        if (!trim(line).empty() && !(*t->on_line)(line)) {
          t->ended_by_reader = true;
          return 0;  // aborts the transfer
        }
      }
      body.erase(0, start);
    }
    if (body.size() > kMaxBody) {
      t->too_large = true;
      return 0;
    }
    return size * count;
  }

  static int on_progress(void* self, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    return static_cast<Transfer*>(self)->stop->load() ? 1 : 0;
  }
};

Result<std::unique_ptr<ApiClient>> ApiClient::create(ApiServerConfig config,
                                                     const std::atomic<bool>& stop) {
  static std::once_flag global;
  std::call_once(global, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  CURL* curl = curl_easy_init();
  if (curl == nullptr) {
    return fail(Error::Kind::System, "curl_easy_init failed");
  }
  return std::unique_ptr<ApiClient>(new ApiClient(std::move(config), stop, curl));
}

ApiClient::~ApiClient() {
  curl_easy_cleanup(handle(curl_));
}

Result<std::string> ApiClient::token() {
  if (config_.token_file.empty()) {
    return config_.token;
  }
  struct stat st {};
  if (::stat(config_.token_file.c_str(), &st) != 0) {
    return fail_errno(fmt::format("token file {}", config_.token_file));
  }
  int64_t mtime_ns = int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
  if (st.st_ino != token_ino_ || mtime_ns != token_mtime_ns_) {
    auto text = read_file(config_.token_file, 64 << 10);
    if (!text) {
      return std::unexpected(text.error());
    }
    token_ = std::string(trim(*text));
    token_ino_ = st.st_ino;
    token_mtime_ns_ = mtime_ns;
  }
  return token_;
}

Result<ApiResponse> ApiClient::perform(Transfer& transfer, const std::string& target,
                                       std::chrono::seconds timeout,
                                       std::string_view content_type) {
  CURL* curl = handle(curl_);
  auto bearer = token();
  if (!bearer) {
    return std::unexpected(bearer.error());
  }
  Headers headers;
  headers.add("Accept: application/json");
  if (!bearer->empty()) {
    headers.add("Authorization: Bearer " + *bearer);
  }
  if (!content_type.empty()) {
    headers.add(fmt::format("Content-Type: {}", content_type));
  }
  std::string url = config_.server + target;
  char error[CURL_ERROR_SIZE] = {};
  transfer.curl = curl;
  transfer.stop = &stop_;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https");
  // HTTP/1.1, the protocol the stand-in speaks and the tests cover (one connection per
  // collection either way: each client is its own handle).
  curl_easy_setopt(curl, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.list);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "weft-agent/" WEFT_VERSION);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  set_pem(curl, CURLOPT_CAINFO_BLOB, CURLOPT_CAINFO, config_.ca);
  set_pem(curl, CURLOPT_SSLCERT_BLOB, CURLOPT_SSLCERT, config_.client_cert);
  set_pem(curl, CURLOPT_SSLKEY_BLOB, CURLOPT_SSLKEY, config_.client_key);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, static_cast<long>(timeout.count()));
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPIDLE, 30L);
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPINTVL, 10L);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &Transfer::on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Transfer::on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, &Transfer::on_progress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &transfer);
  CURLcode rc = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &transfer.response.status);
  // Nothing of this request may leak into the next one on the same handle.
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);
  if (rc == CURLE_WRITE_ERROR && transfer.ended_by_reader) {
    return std::move(transfer.response);
  }
  if (transfer.too_large) {
    return fail(Error::Kind::Protocol,
                fmt::format("{}: answer larger than {} bytes", target, kMaxBody));
  }
  if (rc == CURLE_ABORTED_BY_CALLBACK) {
    return fail(Error::Kind::Timeout, fmt::format("{}: stopped", target));
  }
  if (rc == CURLE_OPERATION_TIMEDOUT) {
    return fail(Error::Kind::Timeout,
                fmt::format("{}: no complete answer within {} s", target, timeout.count()));
  }
  if (rc != CURLE_OK) {
    return fail(Error::Kind::System, fmt::format("{}{}: {}", config_.server, target,
                                                 error[0] != 0 ? error : curl_easy_strerror(rc)));
  }
  return std::move(transfer.response);
}

Result<ApiResponse> ApiClient::get(const std::string& target, std::chrono::seconds timeout) {
  CURL* curl = handle(curl_);
  curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  Transfer transfer;
  return perform(transfer, target, timeout);
}

Result<ApiResponse> ApiClient::stream(const std::string& target, std::chrono::seconds timeout,
                                      const std::function<bool(std::string_view)>& on_line) {
  CURL* curl = handle(curl_);
  curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  Transfer transfer;
  transfer.on_line = &on_line;
  return perform(transfer, target, timeout);
}

Result<ApiResponse> ApiClient::patch(const std::string& target, std::string_view content_type,
                                     std::string_view body) {
  CURL* curl = handle(curl_);
  std::string payload(body);
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "PATCH");
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, payload.c_str());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(payload.size()));
  Transfer transfer;
  auto out = perform(transfer, target, std::chrono::seconds(30), content_type);
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, nullptr);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, nullptr);
  return out;
}

}  // namespace weft::kube
