// The login's operational offer never exceeds what the initiator implements (ERL 2, one
// connection per session), whatever the settings ask, and says when it offered less.
#include <gtest/gtest.h>

#include <string>

#include "net/offer.hpp"

namespace iscsi::net {
namespace {

std::string value_of(const OperationalOffer& o, const std::string& key) {
  for (const auto& kv : o.keys) {
    if (kv.key == key) return kv.value;
  }
  return "(not offered)";
}

TEST(OperationalOffer, NeverMoreThanImplementedWhateverTheSettingsAsk) {
  for (int erl = 0; erl <= 3; ++erl) {
    for (std::uint32_t conns : {1u, 2u, 4u, 65535u}) {
      IscsiParamOptions p;
      p.error_recovery_level = static_cast<std::uint8_t>(erl);
      p.max_connections = conns;
      const auto o = operational_offer(p, true);
      EXPECT_LE(std::stoi(value_of(o, "ErrorRecoveryLevel")), kImplementedErrorRecoveryLevel);
      EXPECT_LE(std::stoul(value_of(o, "MaxConnections")), kImplementedMaxConnections);
      EXPECT_EQ(o.capped.size(), (erl > kImplementedErrorRecoveryLevel ? 1u : 0u) +
                                     (conns > kImplementedMaxConnections ? 1u : 0u));
    }
  }
}

TEST(OperationalOffer, SaysWhatItOfferedInstead) {
  IscsiParamOptions p;
  p.error_recovery_level = 3;  // above what any setting accepts: capped all the same
  p.max_connections = 4;
  const auto o = operational_offer(p, true);
  ASSERT_EQ(o.capped.size(), 2u);
  EXPECT_EQ(o.capped[0], "node.session.iscsi.ERL = 3 asks for more than this initiator "
                         "implements: offering ErrorRecoveryLevel=2");
  EXPECT_EQ(o.capped[1], "node.session.iscsi.MaxConnections = 4 asks for more than this "
                         "initiator implements: offering MaxConnections=1");
}

// ERL 2 (connection recovery) is implemented: asked for, it is offered as it is.
TEST(OperationalOffer, Erl2IsOfferedAsAsked) {
  EXPECT_EQ(kImplementedErrorRecoveryLevel, 2);
  IscsiParamOptions p;
  p.error_recovery_level = 2;
  const auto o = operational_offer(p, true);
  EXPECT_EQ(value_of(o, "ErrorRecoveryLevel"), "2");
  EXPECT_TRUE(o.capped.empty());
}

TEST(OperationalOffer, OtherKeysAsSetAndDiscoveryOffersOnlyConnectionKeys) {
  IscsiParamOptions p;
  p.initial_r2t = true;
  p.header_digest = "CRC32C,None";
  const auto o = operational_offer(p, true);
  EXPECT_EQ(value_of(o, "InitialR2T"), "Yes");
  EXPECT_EQ(value_of(o, "HeaderDigest"), "CRC32C,None");
  const auto d = operational_offer(p, false);
  EXPECT_EQ(d.keys.size(), 3u);
  EXPECT_EQ(value_of(d, "ErrorRecoveryLevel"), "(not offered)");
  EXPECT_TRUE(d.capped.empty());
}

}  // namespace
}  // namespace iscsi::net
