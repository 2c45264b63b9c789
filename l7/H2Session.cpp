#include "l7/H2Session.hpp"

#include <algorithm>
#include <string_view>
#include <utility>

namespace weft::l7 {
namespace {

/// RFC 9113 §6.5.2: each header counts its name, its value and 32 octets of overhead.
constexpr std::size_t kHeaderOverhead = 32;
/// Room reserved for a header block: a gRPC request carries about ten fields.
constexpr std::size_t kTypicalHeaders = 16;

H2Session& self(void* user) {
  return *static_cast<H2Session*>(user);
}

}  // namespace

H2Session::H2Session(Role role, const H2Limits& limits, Acceptor* acceptor)
    : role_(role), limits_(limits), acceptor_(acceptor) {
  nghttp2_session_callbacks* cbs = nullptr;
  nghttp2_session_callbacks_new(&cbs);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data_chunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
  nghttp2_session_callbacks_set_send_data_callback(cbs, on_send_data);
  nghttp2_session_callbacks_set_on_frame_send_callback(cbs, on_frame_sent);
  nghttp2_session_callbacks_set_on_frame_not_send_callback(cbs, on_frame_not_sent);
  nghttp2_option* opt = nullptr;
  nghttp2_option_new(&opt);
  nghttp2_option_set_no_auto_window_update(opt, 1);
  // The agent does not pass RFC 7540 priorities on, so it does not keep their tree either
  // (SETTINGS_NO_RFC7540_PRIORITIES below): a server session would otherwise keep up to
  // max_concurrent_streams closed streams for it, and its stream lookups missed the cache on
  // every frame (~10% of nghttp2's time in a cross-node HTTP/2 bench). Streams are served in
  // turn (RFC 9218 default urgency; HEADERS always go before DATA).
  nghttp2_option_set_no_closed_streams(opt, 1);
  if (!limits.check_http) {
    nghttp2_option_set_no_http_messaging(opt, 1);
  }
  if (role == Role::Client) {
    nghttp2_session_client_new2(&h2_, cbs, this, opt);
  } else {
    nghttp2_session_server_new2(&h2_, cbs, this, opt);
  }
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cbs);
  nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, limits.max_concurrent_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, limits.stream_window},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, static_cast<uint32_t>(limits.max_header_list)},
      {NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES, 1},
  };
  nghttp2_submit_settings(h2_, NGHTTP2_FLAG_NONE, settings, std::size(settings));
  nghttp2_session_set_local_window_size(h2_, NGHTTP2_FLAG_NONE, 0,
                                        static_cast<int32_t>(limits.connection_window));
}

H2Session::~H2Session() {
  nghttp2_session_del(h2_);
}

Result<void> H2Session::receive(std::span<const uint8_t> bytes) {
  ssize_t n = nghttp2_session_mem_recv(h2_, bytes.data(), bytes.size());
  if (n < 0) {
    nghttp2_session_terminate_session(h2_, NGHTTP2_PROTOCOL_ERROR);
    return fail(Error::Kind::Protocol,
                std::string("HTTP/2: ") + nghttp2_strerror(static_cast<int>(n)));
  }
  return {};
}

Result<void> H2Session::produce(std::vector<uint8_t>& out, std::size_t batch) {
  producing_ = &out;
  batch_ = batch;
  while (out.size() < batch) {
    const uint8_t* data = nullptr;
    ssize_t n = nghttp2_session_mem_send(h2_, &data);
    if (n < 0) {
      producing_ = nullptr;
      return fail(Error::Kind::Protocol,
                  std::string("HTTP/2: ") + nghttp2_strerror(static_cast<int>(n)));
    }
    if (n == 0) {
      break;
    }
    out.insert(out.end(), data, data + n);
  }
  producing_ = nullptr;
  return {};
}

bool H2Session::wants_write() const {
  return nghttp2_session_want_write(h2_) != 0;
}

bool H2Session::alive() const {
  return nghttp2_session_want_read(h2_) != 0 || nghttp2_session_want_write(h2_) != 0;
}

bool H2Session::accepts_requests() const {
  return nghttp2_session_check_request_allowed(h2_) != 0 &&
         live_streams_ <
             nghttp2_session_get_remote_settings(h2_, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
}

std::span<const nghttp2_nv> H2Session::to_nv(const Headers& headers,
                                             std::span<const Header> added) {
  nv_.resize(headers.size() + added.size());
  nghttp2_nv* nv = nv_.data();
  auto point = [&nv](const Header& h, uint8_t flags) {
    *nv++ = {reinterpret_cast<uint8_t*>(const_cast<char*>(h.name.data())),
             reinterpret_cast<uint8_t*>(const_cast<char*>(h.value.data())), h.name.size(),
             h.value.size(), flags};
  };
  for (const Header& h : headers) {
    point(h, NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE);
  }
  for (const Header& h : added) {
    point(h, NGHTTP2_NV_FLAG_NONE);
  }
  return nv_;
}

void H2Session::keep_until_sent(int32_t id, Headers&& headers) {
  unsent_.push_back({id, std::move(headers)});  // even an empty block: each HEADERS frees one
}

void H2Session::forget_unsent(int32_t id) {
  auto head = unsent_.begin() + static_cast<std::ptrdiff_t>(unsent_head_);
  auto it = std::find_if(head, unsent_.end(), [id](const Unsent& u) { return u.id == id; });
  if (it == unsent_.end()) {
    return;
  }
  if (it != head) {
    unsent_.erase(it);
    return;
  }
  // The usual case, frames leaving in the order they were submitted: the block is freed, the
  // head moves on, and the queue starts over (keeping its capacity) once it has caught up.
  it->headers = {};
  if (++unsent_head_ == unsent_.size()) {
    unsent_.clear();
    unsent_head_ = 0;
  }
}

nghttp2_data_provider H2Session::provider() {
  nghttp2_data_provider p{};
  p.read_callback = read_body;
  return p;
}

int32_t H2Session::submit_request(Headers headers, bool has_body, H2Stream* stream,
                                  std::span<const Header> added) {
  auto nv = to_nv(headers, added);
  nghttp2_data_provider body = provider();
  int32_t id = nghttp2_submit_request(h2_, nullptr, nv.data(), nv.size(),
                                      has_body ? &body : nullptr, nullptr);
  if (id > 0) {
    keep_until_sent(id, std::move(headers));
    insert(id, stream);
  }
  return id;
}

int H2Session::submit_response(int32_t id, Headers headers, bool has_body) {
  auto nv = to_nv(headers);
  const std::string* status = find_header(headers, ":status");
  bool informational = status != nullptr && !status->empty() && (*status)[0] == '1';
  nghttp2_data_provider body = provider();
  int rv = informational
               ? nghttp2_submit_headers(h2_, NGHTTP2_FLAG_NONE, id, nullptr, nv.data(), nv.size(),
                                        nullptr)
               : nghttp2_submit_response(h2_, id, nv.data(), nv.size(), has_body ? &body : nullptr);
  if (rv == 0) {
    keep_until_sent(id, std::move(headers));
  }
  return rv;
}

int H2Session::submit_trailers(int32_t id, Headers trailers) {
  auto nv = to_nv(trailers);
  int rv = nghttp2_submit_trailer(h2_, id, nv.data(), nv.size());
  if (rv == 0) {
    keep_until_sent(id, std::move(trailers));
  }
  return rv;
}

void H2Session::resume(int32_t id) {
  nghttp2_session_resume_data(h2_, id);
}

void H2Session::consume(int32_t id, std::size_t n) {
  Entry* e = find(id);
  if (e == nullptr) {
    return;  // closed: what it had not consumed was released then
  }
  n = std::min(n, e->owned.unconsumed);
  e->owned.unconsumed -= n;
  if (n > 0) {
    nghttp2_session_consume(h2_, id, n);
  }
}

void H2Session::release(const Owned& owned) {
  if (owned.unconsumed > 0) {
    nghttp2_session_consume_connection(h2_, owned.unconsumed);
  }
}

void H2Session::reset(int32_t id, uint32_t error_code) {
  nghttp2_submit_rst_stream(h2_, NGHTTP2_FLAG_NONE, id, error_code);
}

void H2Session::detach(int32_t id) {
  if (Entry* e = find(id)) {
    release(e->owned);
    erase(e);
  }
  if (incoming_.id == id) {
    incoming_ = {};
  }
  if (nghttp2_session_find_stream(h2_, id) != nullptr) {
    nghttp2_submit_rst_stream(h2_, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
  }
}

void H2Session::goaway(uint32_t error_code) {
  if (error_code == NGHTTP2_NO_ERROR) {
    nghttp2_submit_goaway(h2_, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(h2_),
                          NGHTTP2_NO_ERROR, nullptr, 0);
  } else {
    nghttp2_session_terminate_session(h2_, error_code);
  }
}

int32_t H2Session::last_peer_stream() const {
  return nghttp2_session_get_last_proc_stream_id(h2_);
}

void H2Session::ping() {
  nghttp2_submit_ping(h2_, NGHTTP2_FLAG_NONE, nullptr);
}

void H2Session::shutdown_notice() {
  nghttp2_submit_shutdown_notice(h2_);
}

void H2Session::close_all(uint32_t error_code, uint64_t never_left) {
  auto streams = std::exchange(streams_, {});
  live_streams_ = 0;
  incoming_ = {};
  for (const Entry& e : streams) {
    if (e.owned.owner != nullptr) {
      bool unsent = role_ == Role::Client && e.owned.head_at >= never_left;
      e.owned.owner->on_close(unsent ? uint32_t{NGHTTP2_REFUSED_STREAM} : error_code);
    }
  }
}

std::vector<H2Session::Entry>::iterator H2Session::position(int32_t id) {
  if (streams_.empty()) {
    return streams_.end();
  }
  // A lower bound that halves the range by a conditional move and a fixed number of steps: the
  // ids a busy tunnel looks up are too random for std::lower_bound's branches to be predicted.
  const Entry* base = streams_.data();
  std::size_t n = streams_.size();
  while (n > 1) {
    std::size_t half = n / 2;
    base = base[half].id < id ? base + half : base;
    n -= half;
  }
  return streams_.begin() + (base - streams_.data()) + (base->id < id ? 1 : 0);
}

H2Session::Entry* H2Session::find(int32_t id) {
  // A stream's frames come in runs (HEADERS, DATA, END_STREAM, the body read, the close), so the
  // entry found last is checked first; ids are unique, so a match there is the entry.
  if (last_found_ < streams_.size() && streams_[last_found_].id == id) {
    Entry& e = streams_[last_found_];
    return e.owned.owner != nullptr ? &e : nullptr;
  }
  auto it = position(id);
  if (it == streams_.end() || it->id != id || it->owned.owner == nullptr) {
    return nullptr;
  }
  last_found_ = static_cast<std::size_t>(it - streams_.begin());
  return &*it;
}

void H2Session::insert(int32_t id, H2Stream* owner) {
  // Ids only grow: the end, without a search (a reused id would be a peer's protocol error).
  auto it = streams_.empty() || streams_.back().id < id ? streams_.end() : position(id);
  if (it != streams_.end() && it->id == id) {
    live_streams_ -= it->owned.owner != nullptr ? 1 : 0;  // a new owner, or a tombstone revived
    it->owned = Owned{owner, 0};
  } else {
    streams_.insert(it, {id, Owned{owner, 0}});
  }
  ++live_streams_;
}

void H2Session::erase(Entry* entry) {
  constexpr std::size_t kSlack = 16;  // tombstones tolerated beyond the live count
  entry->owned = {};
  --live_streams_;
  if (streams_.size() > 2 * live_streams_ + kSlack) {
    std::erase_if(streams_, [](const Entry& e) { return e.owned.owner == nullptr; });
  }
}

H2Stream* H2Session::stream(int32_t id) {
  Entry* e = find(id);
  return e == nullptr ? nullptr : e->owned.owner;
}

int H2Session::on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user) {
  H2Session& s = self(user);
  if (frame->hd.type != NGHTTP2_HEADERS) {
    return 0;
  }
  s.incoming_ = {};
  s.incoming_.id = frame->hd.stream_id;
  s.incoming_.headers.reserve(kTypicalHeaders);
  return 0;
}

int H2Session::on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                         size_t namelen, const uint8_t* value, size_t valuelen, uint8_t,
                         void* user) {
  H2Session& s = self(user);
  Incoming& in = s.incoming_;
  if (in.id != frame->hd.stream_id) {
    return 0;
  }
  in.size += namelen + valuelen + kHeaderOverhead;
  if (in.size > s.limits_.max_header_list) {
    in.too_large = true;
    in.headers.clear();
    return 0;
  }
  in.headers.push_back({std::string(reinterpret_cast<const char*>(name), namelen),
                        std::string(reinterpret_cast<const char*>(value), valuelen)});
  return 0;
}

int H2Session::on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
  H2Session& s = self(user);
  int32_t id = frame->hd.stream_id;
  bool end = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  if (frame->hd.type == NGHTTP2_HEADERS) {
    if (s.incoming_.id != id) {
      return 0;
    }
    Incoming in = std::exchange(s.incoming_, {});
    bool request = s.role_ == Role::Server && frame->headers.cat == NGHTTP2_HCAT_REQUEST;
    if (in.too_large) {
      if (request) {
        s.submit_response(id, {{":status", "431"}}, false);
      } else {
        s.reset(id, NGHTTP2_PROTOCOL_ERROR);
      }
      return 0;
    }
    H2Stream* owner = nullptr;
    if (request) {
      owner = s.acceptor_ != nullptr ? s.acceptor_->accept_stream(id, in.headers, end) : nullptr;
      if (owner == nullptr) {
        return 0;  // answered (or reset) by the acceptor; its DATA is dropped
      }
      s.insert(id, owner);
    } else if (owner = s.stream(id); owner == nullptr) {
      return 0;
    }
    owner->on_headers(std::move(in.headers), end);
  } else if (frame->hd.type == NGHTTP2_DATA && end) {
    if (H2Stream* owner = s.stream(id)) {
      owner->on_end_stream();
    }
  }
  return 0;
}

int H2Session::on_data_chunk(nghttp2_session* h2, uint8_t, int32_t id, const uint8_t* data,
                             size_t len, void* user) {
  H2Session& s = self(user);
  if (Entry* e = s.find(id)) {
    e->owned.unconsumed += len;
    e->owned.owner->on_data({data, len});
  } else {
    nghttp2_session_consume(h2, id, len);  // nobody will pass it on: do not stall the connection
  }
  return 0;
}

int H2Session::on_stream_close(nghttp2_session*, int32_t id, uint32_t error_code, void* user) {
  H2Session& s = self(user);
  if (s.incoming_.id == id) {
    s.incoming_ = {};
  }
  Entry* e = s.find(id);
  if (e == nullptr) {
    return 0;
  }
  H2Stream* owner = e->owned.owner;
  s.release(e->owned);
  s.erase(e);
  owner->on_close(error_code);
  return 0;
}

int H2Session::on_frame_sent(nghttp2_session*, const nghttp2_frame* frame, void* user) {
  if (frame->hd.type == NGHTTP2_HEADERS) {
    H2Session& s = self(user);
    s.forget_unsent(frame->hd.stream_id);
    if (Entry* e = s.find(frame->hd.stream_id)) {
      e->owned.head_at = s.output_mark_;
    }
  }
  return 0;
}

int H2Session::on_frame_not_sent(nghttp2_session*, const nghttp2_frame* frame, int, void* user) {
  if (frame->hd.type == NGHTTP2_HEADERS) {
    self(user).forget_unsent(frame->hd.stream_id);
  }
  return 0;
}

ssize_t H2Session::read_body(nghttp2_session*, int32_t id, uint8_t* buf, size_t length,
                             uint32_t* flags, nghttp2_data_source*, void* user) {
  H2Session& s = self(user);
  H2Stream* owner = s.stream(id);
  if (owner == nullptr) {
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // owner gone: reset the stream
  }
  BodyChunk chunk = owner->read_body(buf, length);
  if (chunk.no_copy) {
    *flags |= NGHTTP2_DATA_FLAG_NO_COPY;
  }
  switch (chunk.state) {
    case BodyChunk::State::More:
      break;
    case BodyChunk::State::Deferred:
      if (chunk.size == 0) {
        return NGHTTP2_ERR_DEFERRED;
      }
      break;
    case BodyChunk::State::End:
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      break;
    case BodyChunk::State::Trailers: {
      *flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
      if (s.submit_trailers(id, owner->trailers()) != 0) {
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
      }
      break;
    }
  }
  return static_cast<ssize_t>(chunk.size);
}

// DATA whose read_body said no_copy: the frame header and the payload go straight into the
// output of produce(); a full batch defers the frame to the next produce().
int H2Session::on_send_data(nghttp2_session*, nghttp2_frame* frame, const uint8_t* framehd,
                            size_t length, nghttp2_data_source*, void* user) {
  H2Session& s = self(user);
  if (s.producing_ == nullptr || s.producing_->size() >= s.batch_) {
    return NGHTTP2_ERR_WOULDBLOCK;
  }
  H2Stream* owner = s.stream(frame->hd.stream_id);
  if (owner == nullptr || frame->data.padlen != 0) {
    return NGHTTP2_ERR_CALLBACK_FAILURE;  // no padding is ever selected
  }
  constexpr std::size_t kFrameHeader = 9;
  s.producing_->insert(s.producing_->end(), framehd, framehd + kFrameHeader);
  owner->take_body(length, *s.producing_);
  return 0;
}

}  // namespace weft::l7
