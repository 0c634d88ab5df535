// Test helper: a scripted iSNS server on 127.0.0.1 that answers one request with whatever the
// test wants (hostile names and portals, broken framing, silence), for the iSNS client's and
// lab-iscsiadm's tests.
//
//   test::ScriptedIsns server(test::query_answer(test::target_objects("iqn...:t0", 3260, 1)));
//   net::isns_discover(server.portal(), "iqn...:host0");
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string_view>
#include <thread>

#include "net/initiator.hpp"
#include "proto/common/bytes.hpp"
#include "proto/isns/codec.hpp"
#include "proto/isns/discovery.hpp"
#include "proto/isns/response.hpp"

namespace iscsi::test {

// Accepts one connection on 127.0.0.1, reads one request PDU, and answers with whatever
// `answer(request)` returns (nothing at all when it returns an empty vector: silence).
class ScriptedIsns {
 public:
  using Answer = std::function<ByteVector(const isns::Message& request)>;
  explicit ScriptedIsns(Answer answer) : answer_(std::move(answer)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd_, 1) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      throw std::runtime_error("scripted iSNS server: bind/listen failed");
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~ScriptedIsns() {
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }
  net::Portal portal() const { return net::Portal{"127.0.0.1", port_}; }

 private:
  void serve() {
    const int c = ::accept(fd_, nullptr, nullptr);
    if (c < 0) return;
    isns::MessageAssembler assembler;
    std::uint8_t buf[4096];
    while (!assembler.complete()) {
      const ssize_t n = ::read(c, buf, sizeof buf);
      if (n <= 0 || !assembler.feed(ByteSpan(buf, static_cast<std::size_t>(n)))) break;
    }
    if (assembler.complete()) {
      const ByteVector out = answer_(assembler.take());
      if (out.empty()) {
        ::read(c, buf, sizeof buf);  // silence until the client gives up and closes
      } else {
        (void)!::write(c, out.data(), out.size());
      }
    }
    ::close(c);
  }

  Answer answer_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

// An answer with `attributes` after the query's key and delimiter, in `pdu_payload`-byte PDUs.
ScriptedIsns::Answer query_answer(isns::AttributeList objects, std::uint32_t status = 0,
                                  std::size_t pdu_payload = isns::kMaxPduPayload) {
  return [=](const isns::Message& request) {
    isns::Response r = isns::make_target_query_response({}, request.transaction);
    r.status = status;
    r.attributes.insert(r.attributes.end(), objects.begin(), objects.end());
    return isns::encode_message(isns::encode_response(r), pdu_payload);
  };
}

isns::Attribute raw_string(std::uint32_t tag, std::string_view s) {
  isns::Attribute a{tag, ByteVector(padded_length(s.size() + 1), 0)};
  std::copy(s.begin(), s.end(), a.value.begin());
  return a;
}

isns::AttributeList target_objects(std::string_view name, std::uint32_t port, std::uint32_t tag) {
  using namespace isns;
  return {raw_string(tag::iscsi_name, name), u32_attribute(tag::iscsi_node_type, node_type::target),
          raw_string(tag::pg_iscsi_name, name),
          ip_attribute(tag::pg_portal_ip_address, *parse_ip("192.0.2.7")),
          u32_attribute(tag::pg_portal_port, port), u32_attribute(tag::pg_tag, tag)};
}


}  // namespace iscsi::test
