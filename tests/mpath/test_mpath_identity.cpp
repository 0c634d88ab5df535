// LU identity: which designator names the LU, grouping by it, and errors that say what differed.
#include <gtest/gtest.h>

#include "mpath/identity.hpp"
#include "mpath/prio.hpp"
#include "proto/scsi/inquiry.hpp"
#include "support/hex.hpp"

namespace iscsi::mpath {
namespace {

using scsi::Association;
using scsi::CodeSet;
using scsi::Designator;
using scsi::DesignatorType;

Designator designator(DesignatorType t, std::vector<std::uint8_t> v,
                      Association a = Association::logical_unit) {
  Designator d;
  d.type = t;
  d.association = a;
  d.code_set = (t == DesignatorType::t10_vendor_id || t == DesignatorType::scsi_name_string)
                   ? CodeSet::ascii
                   : CodeSet::binary;
  d.value = std::move(v);
  return d;
}

std::vector<std::uint8_t> ascii(std::string_view s) { return {s.begin(), s.end()}; }

scsi::StandardInquiry inquiry(std::string vendor = "LIO-ORG", std::string product = "disk0") {
  scsi::StandardInquiry q;
  q.vendor = std::move(vendor);
  q.product = std::move(product);
  return q;
}

TEST(MpathIdentity, PrefersNaaRegisteredExtended) {
  scsi::DeviceIdentification ids;
  ids.designators.push_back(designator(DesignatorType::t10_vendor_id, ascii("IET     00010002")));
  ids.designators.push_back(designator(DesignatorType::naa, test::from_hex("3000000100000002")));
  ids.designators.push_back(
      designator(DesignatorType::naa, test::from_hex("60000000000000000e00000000010002")));
  ids.designators.push_back(designator(DesignatorType::eui64, test::from_hex("0011223344556677")));
  auto id = identity_from(inquiry(), &ids, std::string("beaf12"));
  ASSERT_TRUE(id);
  EXPECT_EQ(id->source, LuIdentity::Source::naa);
  EXPECT_EQ(id->id, "naa.60000000000000000e00000000010002");
  EXPECT_EQ(id->serial, "beaf12");
}

TEST(MpathIdentity, OrderAfterNaaAndLogicalUnitAssociationOnly) {
  scsi::DeviceIdentification ids;
  // A target port NAA (association 1) names the port, not the LU.
  ids.designators.push_back(designator(DesignatorType::naa, test::from_hex("5000000000000001"),
                                       Association::target_port));
  ids.designators.push_back(designator(DesignatorType::t10_vendor_id, ascii("LIO-ORG disk")));
  ids.designators.push_back(designator(DesignatorType::scsi_name_string, ascii("iqn.x,lun,1")));
  auto id = identity_from(inquiry(), &ids, std::nullopt);
  ASSERT_TRUE(id);
  EXPECT_EQ(id->source, LuIdentity::Source::scsi_name);
  ids.designators.push_back(designator(DesignatorType::eui64, test::from_hex("0011223344556677")));
  EXPECT_EQ(identity_from(inquiry(), &ids, std::nullopt)->source, LuIdentity::Source::eui64);
}

TEST(MpathIdentity, SerialNumberIsTheFallback) {
  scsi::DeviceIdentification ids;
  ids.designators.push_back(designator(DesignatorType::relative_target_port,
                                       test::from_hex("00000001"), Association::target_port));
  auto id = identity_from(inquiry(), &ids, std::string("beaf12"));
  ASSERT_TRUE(id);
  EXPECT_EQ(id->source, LuIdentity::Source::unit_serial);
  EXPECT_EQ(id->wwid(), "serial.beaf12");
  EXPECT_FALSE(identity_from(inquiry(), &ids, std::nullopt));
  EXPECT_FALSE(identity_from(inquiry(), nullptr, std::nullopt));
  EXPECT_TRUE(identity_from(inquiry(), nullptr, std::string("x")));
}

TEST(MpathIdentity, GroupingAndDifferences) {
  scsi::DeviceIdentification a;
  a.designators.push_back(designator(DesignatorType::naa, test::from_hex("6001405aaaaaaaaaaaaaaaaaaaaaaaaa")));
  scsi::DeviceIdentification b;
  b.designators.push_back(designator(DesignatorType::naa, test::from_hex("6001405bbbbbbbbbbbbbbbbbbbbbbbbb")));
  const auto ia = *identity_from(inquiry(), &a, std::string("s1"));
  const auto ia2 = *identity_from(inquiry(), &a, std::string("s1"));
  const auto ib = *identity_from(inquiry("LIO-ORG", "disk1"), &b, std::string("s2"));
  const auto serial_only = *identity_from(inquiry(), nullptr, std::string("s1"));
  EXPECT_FALSE(difference(ia, ia2));
  const auto diff = difference(ia, ib);
  ASSERT_TRUE(diff);
  EXPECT_EQ(*diff,
            "naa.6001405aaaaaaaaaaaaaaaaaaaaaaaaa (NAA) != naa.6001405bbbbbbbbbbbbbbbbbbbbbbbbb "
            "(NAA); product \"disk0\" != \"disk1\"; serial \"s1\" != \"s2\"");
  // Same serial but one names itself by NAA: not provably one LU, so never grouped.
  const auto mixed = difference(ia, serial_only);
  ASSERT_TRUE(mixed);
  EXPECT_NE(mixed->find("serial.s1 (unit serial number)"), std::string::npos) << *mixed;
  const auto groups = group_by_identity({ia, ib, ia2, serial_only});
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[0], (std::vector<std::size_t>{0, 2}));
  EXPECT_EQ(groups[1], (std::vector<std::size_t>{1}));
  EXPECT_EQ(groups[2], (std::vector<std::size_t>{3}));
}

TEST(MpathIdentity, AluaFactsFromVpd83AndRtpg) {
  // The LIO-style page from tests/proto/scsi/vectors.hpp: relative target port 1, target port
  // group 0 (iSCSI, PIV), logical unit group 7.
  const auto page = test::from_hex(
      "00 83 00 84"
      "010300106001405a1b2c3d4e5f60718293a4b5c6"
      "020100184c494f2d4f52472036303031343035613162326333643465"
      "5194000400000001"
      "5195000400000000"
      "0106000400000007"
      "5398002c69716e2e323030332d30312e6f72672e6c696e75782d69736373692e6c61623a74302c742c30783030303100"
      "010200080011223344556677");
  auto ids = scsi::decode_vpd_device_identification(page);
  ASSERT_TRUE(ids);
  auto q = inquiry();
  q.tpgs = 1;
  PathAlua a = alua_from(q, &*ids);
  EXPECT_TRUE(a.supported);
  EXPECT_EQ(a.relative_port, 1);
  EXPECT_EQ(a.port_group, 0);
  EXPECT_EQ(identity_from(q, &*ids, std::nullopt)->id, "naa.6001405a1b2c3d4e5f60718293a4b5c6");

  scsi::TargetPortGroups tpgs;
  tpgs.groups.push_back({0, scsi::AccessState::standby, false, {}, {}, 0, {1}});
  tpgs.groups.push_back({1, scsi::AccessState::active_optimized, true, {}, {}, 0, {2}});
  ASSERT_TRUE(apply_rtpg(a, tpgs));
  EXPECT_EQ(a.state, scsi::AccessState::standby);
  EXPECT_EQ(priority(a), 1);
  EXPECT_FALSE(alua_usable(a));
  EXPECT_EQ(describe(a), "tpg 0 port 1 standby");
  // By relative port only.
  PathAlua b;
  b.supported = true;
  b.relative_port = 2;
  ASSERT_TRUE(apply_rtpg(b, tpgs));
  EXPECT_EQ(b.port_group, 1);
  EXPECT_EQ(priority(b), 50);
  EXPECT_TRUE(b.preferred);
  PathAlua lost;
  lost.supported = true;
  lost.relative_port = 9;
  EXPECT_FALSE(apply_rtpg(lost, tpgs));
  EXPECT_EQ(priority(PathAlua{}), 1);  // no ALUA: the const prioritizer
  EXPECT_TRUE(alua_usable(PathAlua{}));
}

}  // namespace
}  // namespace iscsi::mpath
