// A connection whose output the worker gathers once per batch of completions.
#pragma once

namespace weft::proxy {

class Flushable {
 public:
  /// Something changed: the worker calls flush_pending() before it waits for I/O again.
  virtual void touch() = 0;
  /// Sends what is queued; may destroy the object once it is finished.
  virtual void flush_pending() = 0;

  bool dirty = false;  ///< queued in the worker's flush list

 protected:
  ~Flushable() = default;
};

}  // namespace weft::proxy
