// The blocking iSNS client: resolve, connect, write one request, read until the response's last
// PDU, all on a private io_context with one deadline. See isns_client.hpp.
//
// A private io_context, not the Initiator's: iSNS calls are rare, short and blocking, come from
// the CLI or the lab before any session exists, and must not queue behind session traffic or
// deadlock when called from an engine callback.
#include "net/isns_client.hpp"

// <utility> first: Boost 1.74 asio/awaitable.hpp uses std::exchange without including it.
#include <utility>

#include <boost/asio.hpp>

#include <array>
#include <atomic>
#include <exception>
#include <string>

#include "proto/isns/discovery.hpp"
#include "proto/isns/status.hpp"

namespace iscsi::net {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

std::atomic<std::uint16_t> g_transaction{1};

std::string function_name(std::uint16_t function) {
  switch (static_cast<isns::FunctionId>(function & ~isns::kResponseBit)) {
    case isns::FunctionId::dev_attr_reg: return "DevAttrReg";
    case isns::FunctionId::dev_attr_qry: return "DevAttrQry";
    case isns::FunctionId::dev_dereg: return "DevDereg";
    default: return "function " + std::to_string(function);
  }
}

std::string where(const isns::Diagnostic& d) {
  return " (attribute " + std::to_string(d.attribute_index) + ", tag " + std::to_string(d.tag) +
         ", payload offset " + std::to_string(d.offset) + ")";
}

// One exchange. Every step's failure is recorded with its words; the deadline closes the socket,
// which ends whichever step is pending.
class Exchange {
 public:
  Exchange(const Portal& server, ByteVector request)
      : server_(server), request_(std::move(request)), socket_(io_), resolver_(io_), timer_(io_) {}

  isns::Message run(std::chrono::milliseconds timeout) {
    timer_.expires_after(timeout);
    timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      timed_out_ = true;
      resolver_.cancel();
      boost::system::error_code ignored;
      socket_.close(ignored);
    });
    resolver_.async_resolve(server_.host, std::to_string(server_.port),
                            [this](const boost::system::error_code& ec,
                                   const tcp::resolver::results_type& results) {
                              if (ec) return fail(Errc::connect_failed, "resolve", ec);
                              connect(results);
                            });
    io_.run();
    if (timed_out_ && !done_) {
      throw NetError(Errc::isns_timeout, prefix() + "no complete answer within " +
                                             std::to_string(timeout.count()) + " ms");
    }
    if (error_) std::rethrow_exception(error_);
    return assembler_.take();
  }

 private:
  std::string prefix() const { return "iSNS server " + server_.to_string() + ": "; }

  void fail(Errc code, const std::string& step, const boost::system::error_code& ec) {
    if (!error_ && !timed_out_) {
      error_ = std::make_exception_ptr(NetError(code, prefix() + step + ": " + ec.message()));
    }
    finish();
  }
  void fail(Errc code, const std::string& detail) {
    if (!error_) error_ = std::make_exception_ptr(NetError(code, prefix() + detail));
    finish();
  }
  void finish() {
    timer_.cancel();
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

  void connect(const tcp::resolver::results_type& results) {
    asio::async_connect(socket_, results,
                        [this](const boost::system::error_code& ec, const tcp::endpoint&) {
                          if (ec) return fail(Errc::connect_failed, "connect", ec);
                          write();
                        });
  }

  void write() {
    asio::async_write(socket_, asio::buffer(request_),
                      [this](const boost::system::error_code& ec, std::size_t) {
                        if (ec) return fail(Errc::connect_failed, "send", ec);
                        read();
                      });
  }

  void read() {
    socket_.async_read_some(asio::buffer(buffer_), [this](const boost::system::error_code& ec,
                                                          std::size_t n) {
      if (n > 0) {
        auto used = assembler_.feed(ByteSpan(buffer_.data(), n));
        if (!used) {
          return fail(Errc::isns_protocol_error, "malformed answer: " + used.error().message());
        }
        if (assembler_.complete()) {
          done_ = true;
          return finish();
        }
      }
      if (ec == asio::error::eof) {
        return fail(Errc::isns_protocol_error, "connection closed before the answer was complete");
      }
      if (ec) return fail(Errc::connect_failed, "receive", ec);
      read();
    });
  }

  Portal server_;
  ByteVector request_;
  asio::io_context io_;
  tcp::socket socket_;
  tcp::resolver resolver_;
  asio::steady_timer timer_;
  std::array<std::uint8_t, 16384> buffer_{};
  isns::MessageAssembler assembler_;
  bool timed_out_ = false;
  bool done_ = false;
  std::exception_ptr error_;
};

isns::Message built(Result<isns::Message> m, const Portal& server, const char* what) {
  if (!m) {
    throw NetError(Errc::invalid_argument, "iSNS server " + server.to_string() + ": cannot build " +
                                               what + ": " + m.error().message());
  }
  return std::move(*m);
}

// The call, with the status checked: a refusal is isns_rejected with the status in words.
isns::Response checked_call(const Portal& server, const isns::Message& request,
                            std::chrono::milliseconds timeout) {
  auto response = isns_call(server, request, timeout);
  if (!response.ok()) {
    throw NetError(Errc::isns_rejected, "iSNS server " + server.to_string() + ": " +
                                            isns::describe_status(response.status) + " for " +
                                            function_name(request.function));
  }
  return response;
}

}  // namespace

Portal isns_server(std::string_view text) {
  Portal p = Portal::parse(text);
  // Portal::parse fills in iSCSI's 3260 when no port is written; iSNS's own is 3205.
  std::string_view bare = text.substr(0, text.rfind(','));
  const bool explicit_port = bare.size() >= 5 && bare.substr(bare.size() - 5) == ":3260";
  if (p.port == 3260 && !explicit_port) p.port = isns::kDefaultPort;
  return p;
}

std::uint16_t isns_next_transaction() noexcept {
  std::uint16_t id = g_transaction.fetch_add(1, std::memory_order_relaxed);
  if (id == 0) id = g_transaction.fetch_add(1, std::memory_order_relaxed);
  return id;
}

isns::Response isns_call(const Portal& server, const isns::Message& request,
                         std::chrono::milliseconds timeout) {
  Exchange exchange(server, isns::encode_message(request));
  const isns::Message answer = exchange.run(timeout);
  isns::Diagnostic diag;
  auto response = isns::decode_response(answer, &diag);
  const std::string prefix = "iSNS server " + server.to_string() + ": ";
  if (!response) {
    throw NetError(Errc::isns_protocol_error,
                   prefix + "malformed answer: " + response.error().message() + where(diag));
  }
  if (auto ec = isns::check_answers(*response, request)) {
    throw NetError(Errc::isns_protocol_error, prefix + ec.message() + " (function " +
                                                  std::to_string(response->function) +
                                                  ", transaction " +
                                                  std::to_string(response->transaction) + ")");
  }
  return std::move(*response);
}

std::vector<text::DiscoveredTarget> isns_discover(const Portal& server,
                                                  std::string_view initiator_name,
                                                  std::chrono::milliseconds timeout) {
  const auto request = built(isns::build_target_query(initiator_name, isns_next_transaction()),
                             server, "DevAttrQry");
  const auto response = checked_call(server, request, timeout);
  isns::Diagnostic diag;
  auto targets = isns::discovered_targets(response, &diag);
  if (!targets) {
    throw NetError(Errc::isns_protocol_error, "iSNS server " + server.to_string() +
                                                  ": DevAttrQry answer rejected: " +
                                                  targets.error().message() + where(diag));
  }
  return std::move(*targets);
}

void isns_register_target(const Portal& server, const isns::TargetEntity& entity,
                          std::chrono::milliseconds timeout) {
  const auto request = built(isns::build_target_registration(entity, isns_next_transaction()),
                             server, "DevAttrReg");
  checked_call(server, request, timeout);
}

void isns_deregister_target(const Portal& server, std::string_view target_name,
                            std::string_view entity_id, std::chrono::milliseconds timeout) {
  const auto request = built(
      isns::build_entity_deregistration(target_name, entity_id, isns_next_transaction()), server,
      "DevDereg");
  checked_call(server, request, timeout);
}

}  // namespace iscsi::net
