#include "agent/pods/RegistrationServer.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <chrono>
#include <cstring>
#include <filesystem>

#include "common/Log.hpp"

namespace weft::agent {
namespace {

// weft-cni sends its request right after connecting; two seconds is generous and bounds how long
// a misbehaving client can hold the control thread.
constexpr auto kRequestDeadline = std::chrono::seconds(2);

Result<std::string> read_request(int fd) {
  std::string buf;
  auto deadline = std::chrono::steady_clock::now() + kRequestDeadline;
  while (buf.find('\n') == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return fail(Error::Kind::Timeout, "request not received in time");
    }
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
      continue;
    }
    char chunk[4096];
    ssize_t n = ::recv(fd, chunk, sizeof(chunk), MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      continue;
    }
    if (n <= 0) {
      return fail(Error::Kind::Protocol, "client closed before a full request");
    }
    buf.append(chunk, static_cast<std::size_t>(n));
    if (buf.size() > kMaxRegistrationBytes) {
      return fail(Error::Kind::Protocol, "request too long");
    }
  }
  return buf.substr(0, buf.find('\n'));
}

}  // namespace

Result<RegistrationServer> RegistrationServer::listen(const std::string& path) {
  sockaddr_un addr{};
  if (path.size() >= sizeof(addr.sun_path)) {
    return fail(Error::Kind::Config, "registration socket path too long: " + path);
  }
  std::string bound = fmt::format("{}.{}", path, ::getpid());
  if (bound.size() >= sizeof(addr.sun_path)) {
    return fail(Error::Kind::Config, "registration socket path too long: " + path);
  }
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  ::unlink(bound.c_str());  // left by an agent of the same PID (another boot, a container)
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) {
    return fail_errno("socket(AF_UNIX)");
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, bound.c_str(), bound.size());
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return fail_errno("bind " + bound);
  }
  ::chmod(bound.c_str(), 0600);
  if (::listen(fd.get(), 64) != 0) {
    ::unlink(bound.c_str());
    return fail_errno("listen " + bound);
  }
  return RegistrationServer(std::move(fd), path, std::move(bound));
}

RegistrationServer::RegistrationServer(Fd fd, std::string path, std::string bound)
    : fd_(std::move(fd)),
      path_(std::move(path)),
      bound_(std::move(bound)),
      reserve_(::open("/dev/null", O_RDONLY | O_CLOEXEC)) {}

RegistrationServer::~RegistrationServer() {
  if (!bound_.empty()) {
    ::unlink(bound_.c_str());
  }
}

Result<void> RegistrationServer::install() {
  if (::rename(bound_.c_str(), path_.c_str()) != 0) {
    return fail_errno(fmt::format("rename {} to {}", bound_, path_));
  }
  bound_.clear();
  return {};
}

void RegistrationServer::serve_queued(const Handler& handler) {
  pollfd p{fd_.get(), POLLIN, 0};
  while (::poll(&p, 1, 0) > 0) {
    if (auto served = serve_one(handler); !served) {
      return;  // out of descriptors: the client was answered, the rest wait
    }
  }
}

Result<void> RegistrationServer::serve_one(const Handler& handler) {
  Fd client(::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (!client) {
    if (errno != EMFILE && errno != ENFILE) {
      return {};  // EAGAIN: the client went away between poll and accept
    }
    auto error = fail_errno("accept a weft-cni request");
    refuse_one(error.error().message);
    return error;
  }
  RegistrationReply reply;
  auto text = read_request(client.get());
  if (!text) {
    reply.error = text.error().message;
  } else if (auto reg = decode_registration(*text); !reg) {
    reply.error = "bad request: " + reg.error().message;
  } else {
    reply = handler(*reg);
  }
  if (!reply.ok) {
    log::warn("registration.refused", "reason=\"{}\"", reply.error);
  }
  std::string out = encode(reply);
  // The reply is small; a blocking send with a timeout keeps this simple and bounded.
  timeval tv{2, 0};
  ::setsockopt(client.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  [[maybe_unused]] ssize_t n = ::send(client.get(), out.data(), out.size(), MSG_NOSIGNAL);
  return {};
}

void RegistrationServer::refuse_one(const std::string& why) {
  log::warn("registration.refused", "reason=\"{}\"", why);
  reserve_.reset();
  if (Fd client(::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC)); client) {
    std::string out = encode(RegistrationReply{false, why});
    [[maybe_unused]] ssize_t n =
        ::send(client.get(), out.data(), out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  }
  reserve_ = Fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
}

}  // namespace weft::agent
