// Bytes on the socket: encoded PDUs written in batches, reads fed to the framer (with direct
// placement of large Data-In payloads into the caller's buffer), and decoded PDUs handed to
// the login machine or the session.
#include "net/engine.hpp"

#include <algorithm>
#include <utility>

#include "net/engine_internal.hpp"
#include "proto/pdu/codec_detail.hpp"

namespace iscsi::net::detail {

void Core::send_pdu(const std::shared_ptr<Conn>& c, pdu::Pdu&& p) {
  if (auto ec = c->out_pending.append(std::move(p), out_digests_)) {
    // Only a PDU the session built wrongly gets here (e.g. a data segment over 2^24).
    rt_->log(conn_prefix() + "cannot encode PDU: " + ec.message());
  }
}

void Core::send_command(const std::shared_ptr<Conn>& c, const pdu::ScsiCommand& p) {
  if (auto ec = c->out_pending.append(p, out_digests_)) {
    rt_->log(conn_prefix() + "cannot encode PDU: " + ec.message());
  }
}

void Core::flush(const std::shared_ptr<Conn>& c) {
  if (c->writing || c->out_pending.empty() || c->dead) return;
  c->out_pending.swap(c->out_writing);
  c->gather.clear();
  c->out_writing.for_each([&](const std::uint8_t* p, std::size_t n) {
    c->gather.emplace_back(p, n);
  });
  // Send what the socket takes at once (usually all of it) with a plain non-blocking send: no
  // write operation, handler or completion to run for it. Only a rest (a full socket buffer)
  // or an error goes on to async_write, whose handler deals with both as before.
  std::size_t first = 0;  // gather[first] is the first piece not sent yet
  while (first < c->gather.size()) {
    boost::system::error_code ec;
    std::size_t n = c->socket.send(std::span<const asio::const_buffer>(c->gather).subspan(first),
                                   0, ec);
    if (ec || n == 0) break;
    while (n > 0 && first < c->gather.size()) {
      asio::const_buffer& b = c->gather[first];
      if (n >= b.size()) {
        n -= b.size();
        ++first;
      } else {
        b += n;
        n = 0;
      }
    }
  }
  if (first == c->gather.size()) {
    c->out_writing.clear();
    return;
  }
  c->writing = true;
  // A span, so the composed write copies two words rather than the vector.
  asio::async_write(c->socket, std::span<const asio::const_buffer>(c->gather).subspan(first),
                    [self = shared_from_this(), c](boost::system::error_code ec, std::size_t) {
                      c->writing = false;
                      c->out_writing.clear();
                      if (c != self->conn_ || c->dead) return;
                      if (ec) {
                        self->transport_error(c, ConnError::xmit_failed);
                        return;
                      }
                      self->flush(c);
                    });
}

MutableByteSpan Core::try_place(const std::shared_ptr<Conn>& c) {
  // Worth it only for large payloads mostly still on the wire: the bytes already buffered are
  // copied once more by place(), and a small payload usually arrives with its header.
  constexpr std::size_t kPlaceMin = 32 * 1024;
  if (c->placed || !sess_ || (phase_ != Phase::full_feature && phase_ != Phase::logging_out)) {
    return {};
  }
  const pdu::Pdu* header = c->framer.pending_header();
  if (header == nullptr) return {};
  const auto* d = std::get_if<pdu::DataIn>(header);
  const std::size_t len = c->framer.pending_data_length();
  MutableByteSpan dest;
  if (d != nullptr && len >= kPlaceMin && c->framer.pending_data_buffered() * 2 <= len) {
    dest = sess_->data_in_destination(cid_, *d, len);
  }
  c->header_reads = !dest.empty();  // a PDU not to place: back to large reads
  if (dest.empty()) return {};
  c->framer.place(dest);
  c->placed = true;
  return c->framer.placement();
}

void Core::end_placement(Conn& c) {
  if (!c.placed) return;
  c.placed = false;
  if (sess_) sess_->placement_done();
}

void Core::start_read(const std::shared_ptr<Conn>& c) {
  // A large Data-In payload for a caller's buffer is received straight into it (one copy, the
  // kernel's); everything else into the framer's buffer. The read runs on this thread, inside
  // the reactor, so a placement can only be written while the connection is open: every way
  // its task can end without its Data-In closes the connection first (see pump()).
  MutableByteSpan buf = c->framer.placement();
  if (buf.empty()) buf = try_place(c);
  const bool placed = !buf.empty();
  if (!placed) {
    if (c->header_reads) {
      // What completes the header (or the trailer of a placed payload) and one BHS more.
      const std::size_t want = c->framer.bytes_wanted() + pdu::kBhsLength;
      buf = c->framer.prepare(want).first(want);
    } else {
      const std::size_t want = std::max<std::size_t>(c->framer.bytes_wanted(), 64 * 1024);
      buf = c->framer.prepare(want);
    }
  }
  c->socket.async_read_some(asio::buffer(buf.data(), buf.size()),
                            [self = shared_from_this(), c, placed](boost::system::error_code ec,
                                                                   std::size_t n) {
                              self->on_read(c, ec, n, placed);
                            });
}

void Core::on_read(const std::shared_ptr<Conn>& c, boost::system::error_code ec, std::size_t n,
                   bool placed) {
  if (c != conn_ || c->dead) return;
  if (ec) {
    end_placement(*c);  // no receive follows on this connection
    if (!placed) c->framer.commit(0);
    transport_error(c, ec == asio::error::eof ? ConnError::tcp_conn_close : ConnError::conn_failed);
    return;
  }
  if (placed) {
    c->framer.commit_placed(n);
  } else {
    c->framer.commit(n);
  }
  process_frames(c);
  if (c == conn_ && !c->dead) start_read(c);
}

void Core::process_frames(const std::shared_ptr<Conn>& c) {
  bool unpumped = false;  // PDUs handed to the session since the last pump
  const auto now = SteadyClock::now();  // one clock read for the PDUs of one socket read
  while (c == conn_ && !c->dead) {
    // Zero-copy: a Data-In's payload goes straight from the framer's buffer into the task's;
    // every other PDU is copied out whole (small, and its handlers want an owned PDU).
    auto next = c->framer.next_view();
    if (!next) {
      end_placement(*c);  // a failed framer never writes the placement again
      const pdu::Diagnostic& d = c->framer.diagnostic();
      if (phase_ == Phase::full_feature || phase_ == Phase::logging_out) {
        sess_->on_receive_error(cid_, d, now);
        pump();
      } else {
        login_attempt_failed(Errc::login_protocol_error, pdu::to_string(d), true);
      }
      return;
    }
    if (!*next) break;
    const pdu::FrameView& v = **next;
    // A placed payload is complete: its task may end now (the PDU below may carry the status).
    end_placement(*c);
    const auto* data_in = std::get_if<pdu::DataIn>(v.header);
    std::optional<pdu::Pdu> owned;
    if (data_in == nullptr || phase_ == Phase::logging_in) {
      owned.emplace(*v.header);
      pdu::detail::attach_data(*owned, v.data);
    }
    if (phase_ == Phase::logging_in) {
      handle_login_pdu(c, *owned);
      continue;
    }
    if (phase_ == Phase::full_feature || phase_ == Phase::logging_out) {
      if (owned) {
        (void)sess_->receive(cid_, *owned, now);
      } else if (v.data_damaged) {
        (void)sess_->receive_damaged_data_in(cid_, *data_in,
                                             static_cast<std::uint32_t>(v.data.size()),
                                             c->framer.damage(), now);
      } else {
        (void)sess_->receive_data_in(cid_, *data_in, v.data, now);
      }
      // One pump for all the PDUs of a read while the session is plainly logged in: the
      // commands their completions start then leave in one write, not one write per response.
      // Anything else (logout, a failure, recovery) is pumped at once, as before.
      if (phase_ == Phase::full_feature && sess_->state() == session::SessionState::logged_in) {
        unpumped = true;
      } else {
        unpumped = false;
        pump();
      }
      continue;
    }
    break;
  }
  if (unpumped) pump();
}

}  // namespace iscsi::net::detail
