// libFuzzer target: LoginMachine fed an arbitrary sequence of Login Response PDUs.
//
// Input: byte 0 picks the configuration (bits 0-1: AuthMethod None / CHAP / mutual CHAP /
// CHAP,None; bit 2: discovery session; bit 3: add a connection to TSIH 0x0012; bit 4: 32-byte
// login segments). The rest is a stream of PDUs on the wire, decoded with pdu::decode one after
// another; every Login Response goes to LoginMachine::receive until the login ends. The seeds are
// real exchanges with the test tree's fake target (ITT 0x10, the ISID below), so mutations start
// from conversations that get deep into the machine.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>

#include "proto/login/login_machine.hpp"
#include "proto/pdu/pdu.hpp"

namespace {

using namespace iscsi;

void fill(std::span<std::uint8_t> out) {
  std::uint8_t v = 0x80;
  for (auto& b : out) b = v++;
}

login::LoginConfig make_config(std::uint8_t flags) {
  login::LoginConfig c;
  c.initiator_name = "iqn.2026-11.org.example:host0";
  c.target_name = "iqn.2026-11.org.example:t0";
  c.isid = pdu::Isid::random_format(0x123456, 1);
  c.itt = 0x10;
  c.cmd_sn = SerialNumber(7);
  c.operational_keys = {{"HeaderDigest", "CRC32C,None"},
                        {"MaxRecvDataSegmentLength", "262144"},
                        {"MaxBurstLength", "1048576"},
                        {"ImmediateData", "Yes"}};
  const unsigned auth = flags & 3u;
  if (auth != 0) {
    auth::ChapInitiatorConfig chap;
    chap.local = {"iqn.2026-11.org.example:host0",
                  auth::Secret(std::string_view("initiator-secret-16"))};
    if (auth == 2) {
      chap.target = auth::ChapCredentials{"iqn.2026-11.org.example:t0",
                                          auth::Secret(std::string_view("target-secret-0016"))};
    }
    chap.random = fill;
    c.chap = std::move(chap);
    c.auth_methods = auth == 3 ? std::vector{login::AuthMethod::chap, login::AuthMethod::none}
                               : std::vector{login::AuthMethod::chap};
  }
  if (flags & 4u) {
    c.session_type = login::SessionType::discovery;
    c.target_name.clear();
  }
  if (flags & 8u) c.tsih = 0x0012;
  if (flags & 16u) c.max_segment_length = 32;
  return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  auto machine = login::LoginMachine::create(make_config(data[0]));
  if (!machine) return 0;
  if (!machine->start()) return 0;
  ByteSpan wire(data + 1, size - 1);
  while (!wire.empty() && !machine->finished()) {
    auto decoded = pdu::decode(wire);
    if (!decoded || decoded->consumed == 0) break;
    wire = wire.subspan(decoded->consumed);
    if (const auto* rsp = std::get_if<pdu::LoginResponse>(&decoded->pdu)) {
      auto step = machine->receive(*rsp);
      if (!step) break;
    }
  }
  if (machine->outcome()) (void)login::to_string(*machine->outcome());
  return 0;
}
