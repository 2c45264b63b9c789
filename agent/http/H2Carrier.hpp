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
  /// The connection failed before it was up because its dial ran out of time while the peer may
  /// be coming back (TunnelSession::dial_ran_out): a request refused by that may try the same
  /// endpoint once more.
  virtual bool dial_ran_out() const { return false; }

 protected:
  ~H2Carrier() = default;
};

}  // namespace weft::proxy
