#include "agent/pods/Predecessor.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <fmt/format.h>

#include <cstring>

#include "common/PodRegistration.hpp"

namespace weft::agent {

Result<std::optional<Predecessor>> Predecessor::connect(const std::string& path) {
  sockaddr_un addr{};
  if (path.size() >= sizeof(addr.sun_path)) {
    return fail(Error::Kind::Config, "registration socket path too long: " + path);
  }
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) {
    return fail_errno("socket(AF_UNIX)");
  }
  // A full backlog makes connect() wait; the predecessor serves one client at a time, each
  // within seconds.
  timeval tv{10, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    if (errno == ENOENT || errno == ECONNREFUSED) {
      return std::nullopt;
    }
    return fail_errno("connect to the agent at " + path);
  }
  return Predecessor(std::move(fd));
}

Result<void> Predecessor::hand_over(std::chrono::milliseconds timeout) {
  PodRegistration request;
  request.op = PodRegistration::Op::Handover;
  std::string out = encode(request);
  if (::send(fd_.get(), out.data(), out.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(out.size())) {
    return fail_errno("send the hand-over request");
  }
  std::string reply;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (reply.find('\n') == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{fd_.get(), POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) == 0) {
      return fail(Error::Kind::Timeout,
                  fmt::format("no answer to the hand-over request within {} ms", timeout.count()));
    }
    char chunk[512];
    ssize_t n = ::recv(fd_.get(), chunk, sizeof(chunk), 0);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0 || reply.size() > kMaxRegistrationBytes) {
      return fail(Error::Kind::Protocol, "the agent closed the hand-over without an answer");
    }
    reply.append(chunk, static_cast<std::size_t>(n));
  }
  auto decoded = decode_reply(reply.substr(0, reply.find('\n')));
  if (!decoded) {
    return std::unexpected(decoded.error());
  }
  if (!decoded->ok) {
    return fail(Error::Kind::Protocol, "the agent refused to hand over: " + decoded->error);
  }
  return {};
}

}  // namespace weft::agent
