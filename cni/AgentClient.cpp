#include "cni/AgentClient.hpp"

#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>

#include "common/Fd.hpp"
#include "common/Log.hpp"

namespace weft::cni {
namespace {

using Clock = std::chrono::steady_clock;

// A unix stream socket whose listener backlog is full fails a non-blocking connect() with
// EAGAIN instead of queueing (unix(7)); retry at this pace until the deadline.
constexpr std::chrono::milliseconds kBacklogRetry{10};

/// Milliseconds left until `deadline`, rounded up so poll() never wakes before it; 0 if past.
int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

/// Waits for `events` on `fd`; Timeout once the deadline passes.
Result<void> wait_for(int fd, short events, Clock::time_point deadline, std::string_view what) {
  for (;;) {
    int left = remaining_ms(deadline);
    if (left == 0) {
      return fail(Error::Kind::Timeout, fmt::format("timed out {}", what));
    }
    pollfd pfd{fd, events, 0};
    int n = ::poll(&pfd, 1, left);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return fail_errno("poll");
    }
    if (n > 0) {
      // POLLHUP/POLLERR fall through to the next syscall, which reports the precise error.
      return {};
    }
  }
}

Result<Fd> connect_before(const std::string& path, Clock::time_point deadline) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    return fail(Error::Kind::Config, "socket path too long");
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  for (;;) {
    Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) {
      return fail_errno("socket");
    }
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0) {
      return fd;
    }
    int err = errno;
    if (err == EAGAIN) {
      if (remaining_ms(deadline) == 0) {
        return fail(Error::Kind::Timeout, "timed out connecting (listen backlog full)");
      }
      ::poll(nullptr, 0,
             static_cast<int>(std::min<long>(kBacklogRetry.count(), remaining_ms(deadline))));
      continue;
    }
    if (err == EINPROGRESS || err == EINTR) {
      if (auto ok = wait_for(fd.get(), POLLOUT, deadline, "connecting"); !ok) {
        return std::unexpected(ok.error());
      }
      int so_error = 0;
      socklen_t len = sizeof(so_error);
      if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &so_error, &len) < 0) {
        return fail_errno("getsockopt(SO_ERROR)");
      }
      if (so_error != 0) {
        return fail_errno("connect", so_error);
      }
      return fd;
    }
    return fail_errno("connect", err);
  }
}

Result<void> send_all(int fd, std::string_view data, Clock::time_point deadline) {
  while (!data.empty()) {
    // MSG_NOSIGNAL: an agent that closed early must surface as EPIPE, not kill us with SIGPIPE.
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n >= 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (errno == EINTR) {
      continue;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      return fail_errno("send");
    }
    if (auto ok = wait_for(fd, POLLOUT, deadline, "sending the request"); !ok) {
      return ok;
    }
  }
  return {};
}

Result<std::string> read_line(int fd, Clock::time_point deadline) {
  std::string buf;
  char chunk[4096];
  for (;;) {
    if (auto nl = buf.find('\n'); nl != std::string::npos) {
      buf.resize(nl);
      return buf;
    }
    if (buf.size() > kMaxRegistrationBytes) {
      return fail(Error::Kind::Protocol,
                  fmt::format("reply longer than {} bytes", kMaxRegistrationBytes));
    }
    ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
    if (n > 0) {
      buf.append(chunk, static_cast<std::size_t>(n));
      continue;
    }
    if (n == 0) {
      if (buf.empty()) {
        return fail(Error::Kind::System, "closed the connection without answering");
      }
      // A complete object without its newline is still an answer.
      return buf;
    }
    if (errno == EINTR) {
      continue;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      return fail_errno("recv");
    }
    if (auto ok = wait_for(fd, POLLIN, deadline, "waiting for the answer"); !ok) {
      return std::unexpected(ok.error());
    }
  }
}

}  // namespace

AgentClient::AgentClient(std::string socket_path, std::chrono::milliseconds timeout)
    : socket_path_(std::move(socket_path)), timeout_(timeout) {}

Result<RegistrationReply> AgentClient::exchange(const PodRegistration& reg) const {
  auto deadline = Clock::now() + timeout_;
  auto with_path = [&](Error err) {
    err.message = fmt::format("weft-agent at {}: {}", socket_path_, err.message);
    return std::unexpected(std::move(err));
  };
  auto fd = connect_before(socket_path_, deadline);
  if (!fd) {
    return with_path(fd.error());
  }
  if (auto ok = send_all(fd->get(), encode(reg), deadline); !ok) {
    return with_path(ok.error());
  }
  // Half-close: the agent may read until EOF; our request is complete.
  ::shutdown(fd->get(), SHUT_WR);
  auto line = read_line(fd->get(), deadline);
  if (!line) {
    return with_path(line.error());
  }
  auto reply = decode_reply(*line);
  if (!reply) {
    return with_path(reply.error());
  }
  return reply;
}

std::expected<void, CniError> AgentClient::submit(const PodRegistration& reg) const {
  auto started = Clock::now();
  auto reply = exchange(reg);
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
  if (!reply) {
    log::warn("agent_unreachable", "op={} container={} socket={} after_ms={} reason=\"{}\"",
              to_string(reg.op), reg.container_id, socket_path_, took.count(),
              reply.error().message);
    std::string_view what = "weft-agent is unreachable on";
    if (reply.error().kind == Error::Kind::Timeout) {
      what = "weft-agent did not answer in time on";
    } else if (reply.error().kind == Error::Kind::Protocol) {
      what = "weft-agent sent an unreadable answer on";
    }
    return std::unexpected(cni_error(
        ErrorCode::TryAgainLater, fmt::format("{} {}", what, socket_path_),
        fmt::format("{} (timeout {} ms); is the weft-agent DaemonSet running on this node?",
                    reply.error().message, timeout_.count())));
  }
  if (!reply->ok) {
    log::warn("agent_refused", "op={} container={} reason=\"{}\"", to_string(reg.op),
              reg.container_id, reply->error);
    return std::unexpected(cni_error(
        ErrorCode::AgentRefused, fmt::format("weft-agent refused {} of the pod", to_string(reg.op)),
        reply->error.empty() ? "no reason given" : reply->error));
  }
  log::debug("agent_ok", "op={} container={} after_ms={}", to_string(reg.op), reg.container_id,
             took.count());
  return {};
}

}  // namespace weft::cni
