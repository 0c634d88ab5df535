// One TCP connection of a session as the engine drives it: the socket, the framer that cuts its
// bytes into PDUs, and the batches of encoded PDUs waiting for and under an async_write. The
// sans-IO side of the same connection (StatSN, send queue, NOP timer) is
// proto/session/connection.hpp; a session may have several of both.
#pragma once

// <utility> first: Boost 1.74 asio/awaitable.hpp uses std::exchange without including it.
#include <utility>

#include <boost/asio.hpp>

#include <vector>

#include "net/out_batch.hpp"
#include "proto/pdu/framer.hpp"

namespace iscsi::net::detail {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct Conn {
  explicit Conn(asio::io_context& io) : socket(io), resolver(io) {}
  tcp::socket socket;
  tcp::resolver resolver;
  pdu::Framer framer{pdu::FramerConfig{}};
  OutBatch out_pending;   // encoded, waiting for the write in flight
  OutBatch out_writing;   // being written
  std::vector<asio::const_buffer> gather;  // out_writing's pieces (capacity reused)
  bool writing = false;
  bool dead = false;
  // The framer's pending Data-In payload is being received straight into a caller's
  // read_into buffer (Session::data_in_destination).
  bool placed = false;
  // The last large Data-In was placed: read headers on their own (plus a few bytes), so the
  // next payload is still on the wire, to be placed whole, instead of half in the framer.
  bool header_reads = false;
};

}  // namespace iscsi::net::detail
