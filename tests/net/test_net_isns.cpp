// The iSNS client (net/isns_client.hpp) against a real isnsd on loopback (register a target with
// two portals, discover it, change a portal, see the change, check isnsadm sees it, deregister,
// see it gone) and against scripted servers: a refusal in words, hostile names and portals, a
// multi-PDU answer, a wrong transaction, silence, and nobody listening.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <thread>

#include "net/isns_client.hpp"
#include "proto/isns/discovery.hpp"
#include "support/isnsd_fixture.hpp"
#include "support/scripted_isns.hpp"

namespace iscsi::net {
namespace {

using namespace std::chrono_literals;

constexpr const char* kInitiator = "iqn.2026-12.org.example:host0";
constexpr const char* kTarget = "iqn.2026-12.org.example:isns-t0";

std::vector<std::string> addresses(const text::DiscoveredTarget& t) {
  std::vector<std::string> out;
  for (const auto& a : t.addresses) out.push_back(text::format_target_address(a));
  return out;
}

template <class F>
NetError thrown(F&& f) {
  try {
    f();
  } catch (const NetError& e) {
    return e;
  }
  ADD_FAILURE() << "no NetError thrown";
  return NetError(Errc::ok, "");
}

TEST(IsnsServerText, DefaultPort) {
  EXPECT_EQ(isns_server("127.0.0.1"), (Portal{"127.0.0.1", 3205}));
  EXPECT_EQ(isns_server("127.0.0.1:3206"), (Portal{"127.0.0.1", 3206}));
  EXPECT_EQ(isns_server("127.0.0.1:3260"), (Portal{"127.0.0.1", 3260}));
  EXPECT_EQ(isns_server("[::1]"), (Portal{"::1", 3205}));
}

TEST(IsnsdLoopback, RegisterDiscoverChangeDeregister) {
  test::Isnsd isnsd;
  const Portal server{isnsd.host(), isnsd.port()};
  EXPECT_TRUE(isns_discover(server, kInitiator).empty());

  isns::TargetEntity entity{"lab-isns-t0", kTarget,
                            {{"127.0.0.1", 3260, 1}, {"127.0.0.2", 3261, 2}}, std::nullopt};
  isns_register_target(server, entity);
  auto targets = isns_discover(server, kInitiator);
  ASSERT_EQ(targets.size(), 1u) << isnsd.log_tail();
  EXPECT_EQ(targets[0].name, kTarget);
  EXPECT_EQ(addresses(targets[0]), (std::vector<std::string>{"127.0.0.1:3260,1", "127.0.0.2:3261,2"}));

  // What open-isns's own client sees of our registration.
  const auto adm_run = isnsd.isnsadm({"--query", "iscsi-name"});
  EXPECT_EQ(adm_run.exit_code, 0) << adm_run.err;
  const std::string& adm = adm_run.out;
  EXPECT_NE(adm.find(kTarget), std::string::npos) << adm;
  EXPECT_NE(adm.find("127.0.0.2"), std::string::npos) << adm;

  // A portal moves: registering again replaces the entity's portals and groups.
  entity.portals[1] = {"127.0.0.3", 3262, 2};
  isns_register_target(server, entity);
  targets = isns_discover(server, kInitiator);
  ASSERT_EQ(targets.size(), 1u);
  EXPECT_EQ(addresses(targets[0]), (std::vector<std::string>{"127.0.0.1:3260,1", "127.0.0.3:3262,2"}));

  // A second target in its own entity shows up beside the first.
  isns::TargetEntity second{"lab-isns-t1", "iqn.2026-12.org.example:isns-t1",
                            {{"::1", 3260, 1}}, 600};
  isns_register_target(server, second);
  targets = isns_discover(server, kInitiator);
  ASSERT_EQ(targets.size(), 2u);
  auto t1 = std::find_if(targets.begin(), targets.end(),
                         [&](const auto& t) { return t.name == second.target_name; });
  ASSERT_NE(t1, targets.end());
  EXPECT_EQ(addresses(*t1), std::vector<std::string>{"[::1]:3260,1"});

  isns_deregister_target(server, kTarget, entity.entity_id);
  targets = isns_discover(server, kInitiator);
  ASSERT_EQ(targets.size(), 1u);
  EXPECT_EQ(targets[0].name, second.target_name);
  isns_deregister_target(server, second.target_name, second.entity_id);
  EXPECT_TRUE(isns_discover(server, kInitiator).empty());
}

// --- scripted servers ----------------------------------------------------------------------

using test::query_answer;
using test::ScriptedIsns;
using test::target_objects;

TEST(IsnsScripted, MultiPduAnswer) {
  ScriptedIsns server(query_answer(target_objects(kTarget, 3260, 3), 0, 16));
  auto targets = isns_discover(server.portal(), kInitiator);
  ASSERT_EQ(targets.size(), 1u);
  EXPECT_EQ(addresses(targets[0]), std::vector<std::string>{"192.0.2.7:3260,3"});
}

TEST(IsnsScripted, RefusalInWords) {
  ScriptedIsns server(query_answer({}, 5));
  const NetError e = thrown([&] { isns_discover(server.portal(), kInitiator); });
  EXPECT_EQ(e.errc(), Errc::isns_rejected);
  EXPECT_NE(std::string(e.what()).find("iSNS server " + server.portal().to_string() +
                                       ": iSNS status 5 (invalid query) for DevAttrQry"),
            std::string::npos)
      << e.what();
}

TEST(IsnsScripted, HostileTargetName) {
  ScriptedIsns server(query_answer(target_objects("iqn.2026-12.org.example:t\x1b]0;pwned\x07", 3260, 1)));
  const NetError e = thrown([&] { isns_discover(server.portal(), kInitiator); });
  EXPECT_EQ(e.errc(), Errc::isns_protocol_error);
  const std::string what = e.what();
  EXPECT_NE(what.find("control character"), std::string::npos) << what;
  EXPECT_NE(what.find("tag 32"), std::string::npos) << what;
  EXPECT_EQ(what.find('\x1b'), std::string::npos);  // the name itself is never echoed
}

TEST(IsnsScripted, HostilePortal) {
  ScriptedIsns server(query_answer(target_objects(kTarget, 0x10000 | 3260, 1)));
  const NetError e = thrown([&] { isns_discover(server.portal(), kInitiator); });
  EXPECT_EQ(e.errc(), Errc::isns_protocol_error);
  EXPECT_NE(std::string(e.what()).find("portal port"), std::string::npos) << e.what();
}

TEST(IsnsScripted, WrongTransaction) {
  ScriptedIsns server([](const isns::Message& request) {
    isns::Response r = isns::make_target_query_response({}, static_cast<std::uint16_t>(request.transaction + 1));
    return isns::encode_message(isns::encode_response(r));
  });
  const NetError e = thrown([&] { isns_discover(server.portal(), kInitiator); });
  EXPECT_EQ(e.errc(), Errc::isns_protocol_error);
  EXPECT_NE(std::string(e.what()).find("another Transaction ID"), std::string::npos) << e.what();
}

TEST(IsnsScripted, BrokenFraming) {
  ScriptedIsns server([](const isns::Message&) {
    return ByteVector{0x00, 0x02, 0x80, 0x02, 0x00, 0x00, 0x4c, 0x00, 0x00, 0x01, 0x00, 0x00};
  });
  const NetError e = thrown([&] { isns_discover(server.portal(), kInitiator); });
  EXPECT_EQ(e.errc(), Errc::isns_protocol_error);
  EXPECT_NE(std::string(e.what()).find("version is not 1"), std::string::npos) << e.what();
}

TEST(IsnsScripted, Silence) {
  ScriptedIsns server([](const isns::Message&) { return ByteVector{}; });
  const NetError e = thrown([&] { isns_discover(server.portal(), kInitiator, 300ms); });
  EXPECT_EQ(e.errc(), Errc::isns_timeout);
  EXPECT_NE(std::string(e.what()).find("no complete answer within 300 ms"), std::string::npos) << e.what();
}

TEST(IsnsScripted, NobodyListening) {
  std::uint16_t port = 0;
  { ScriptedIsns probe([](const isns::Message&) { return ByteVector{}; }); port = probe.portal().port; }
  // ScriptedIsns's destructor joined after its accept failed; the port is closed now.
  const Portal server{"127.0.0.1", port};
  const NetError e = thrown([&] { isns_discover(server, kInitiator, 2s); });
  EXPECT_EQ(e.errc(), Errc::connect_failed);
  EXPECT_NE(std::string(e.what()).find("iSNS server 127.0.0.1:" + std::to_string(port) + ": connect:"),
            std::string::npos)
      << e.what();
}

}  // namespace
}  // namespace iscsi::net
