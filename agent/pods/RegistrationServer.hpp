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

  /// Binds `path` (removing a stale socket file, creating the directory, mode 0600).
  static Result<RegistrationServer> listen(const std::string& path);

  /// The listening fd, for the control loop's poll().
  int fd() const { return fd_.get(); }

  /// Accepts one pending client, reads its request, calls `handler`, writes the reply.
  void serve_one(const Handler& handler);

 private:
  RegistrationServer(Fd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
  Fd fd_;
  std::string path_;
};

}  // namespace weft::agent
