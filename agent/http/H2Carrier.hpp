// What an HTTP exchange needs from a connection that carries its streams: the HTTP/2 session
// and a way to have it flushed. A plain connection (H2Connection) and the mTLS tunnel between
// agents (TunnelSession) both carry requests.
#pragma once

#include "agent/loop/Flushable.hpp"
#include "l7/H2Session.hpp"

namespace weft::proxy {

class H2Carrier : public Flushable {
 public:
  virtual l7::H2Session& session() = 0;

 protected:
  ~H2Carrier() = default;
};

}  // namespace weft::proxy
