// What an HTTP exchange needs from a connection that carries its streams: the HTTP/2 session
// and a way to have it flushed. A plain connection (H2Connection) and the mTLS tunnel between
// agents (TunnelSession) both carry requests.
#pragma once

#include "l7/H2Session.hpp"

namespace weft::proxy {

class H2Carrier {
 public:
  virtual l7::H2Session& session() = 0;
  /// Something changed: the worker calls flush_pending() before it waits for I/O again.
  virtual void touch() = 0;
  /// Sends what the session has queued; may destroy the carrier once it is finished.
  virtual void flush_pending() = 0;

  bool dirty = false;  ///< queued in the worker's flush list

 protected:
  ~H2Carrier() = default;
};

}  // namespace weft::proxy
