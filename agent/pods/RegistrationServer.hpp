// The unix socket weft-cni talks to. Served on the control thread: one request per connection,
// read and answered within a deadline so a stuck client cannot stall pod set-up for others.
#pragma once

#include <functional>
#include <string>

#include "common/Error.hpp"
#include "common/Fd.hpp"
#include "common/PodRegistration.hpp"

namespace weft::agent {

class RegistrationServer {
 public:
  using Handler = std::function<RegistrationReply(const PodRegistration&)>;

  /// Listens on a new socket file beside `path` (creating the directory, mode 0600), not yet
  /// reachable at `path`: see install().
  static Result<RegistrationServer> listen(const std::string& path);
  RegistrationServer(RegistrationServer&&) noexcept = default;
  RegistrationServer& operator=(RegistrationServer&&) noexcept = default;
  /// Removes the socket file if install() never put it in place; an installed one stays (a
  /// successor may own the path by now).
  ~RegistrationServer();

  /// Renames the socket file over `path`, atomically: a client connects to the socket that
  /// was there before or to this one, never to nothing. Clients queue until served.
  Result<void> install();

  /// The listening fd, for the control loop's poll().
  int fd() const { return fd_.get(); }

  /// Accepts one pending client, reads its request, calls `handler`, writes the reply. Out of
  /// descriptors, the client is still answered (refused, with the reason) on a descriptor kept
  /// in reserve for it, instead of being left to time out; that error is returned.
  Result<void> serve_one(const Handler& handler);
  /// Serves every client already queued (hand-over: nobody can queue here any more).
  void serve_queued(const Handler& handler);

 private:
  RegistrationServer(Fd fd, std::string path, std::string bound);
  /// Accepts with the reserved descriptor freed, answers `why`, and takes the reserve back.
  void refuse_one(const std::string& why);
  Fd fd_;
  std::string path_;
  std::string bound_;  ///< the socket file until install() renames it to path_; then empty
  Fd reserve_;  ///< /dev/null, closed only to accept a client when no other descriptor is left
};

}  // namespace weft::agent
