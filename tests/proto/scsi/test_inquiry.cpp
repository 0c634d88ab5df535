// Standard INQUIRY and VPD page decoders against captured (tgt) and hand-written data.
#include <gtest/gtest.h>

#include "proto/scsi/inquiry.hpp"
#include "support/hex.hpp"
#include "vectors.hpp"

namespace iscsi::scsi {
namespace {

using test::from_hex;

TEST(ScsiInquiry, TgtStandardData) {
  const auto bytes = from_hex(vectors::kTgtStandardInquiry);
  auto inq = decode_standard_inquiry(bytes);
  ASSERT_TRUE(inq) << inq.error().message();
  EXPECT_EQ(inq->qualifier, PeripheralQualifier::connected);
  EXPECT_EQ(inq->device_type, device_type::kDirectAccess);
  EXPECT_FALSE(inq->rmb);
  EXPECT_EQ(inq->version, 0x05);
  EXPECT_FALSE(inq->normaca);
  EXPECT_TRUE(inq->hisup);
  EXPECT_EQ(inq->response_data_format, 2);
  EXPECT_EQ(inq->additional_length, 0x3d);
  EXPECT_EQ(inq->required_length(), 66u);
  EXPECT_EQ(inq->tpgs, 0);
  EXPECT_FALSE(inq->protect);
  EXPECT_TRUE(inq->cmdque);
  EXPECT_FALSE(inq->multip);
  EXPECT_EQ(inq->vendor, "IET");
  EXPECT_EQ(inq->product, "VIRTUAL-DISK");
  EXPECT_EQ(inq->revision, "0001");
  EXPECT_EQ(inq->version_descriptors, (std::vector<std::uint16_t>{0x04C0, 0x0960, 0x0300}));
  EXPECT_FALSE(inq->truncated);
  EXPECT_EQ(device_type_name(inq->device_type), "DIRECT ACCESS BLOCK DEVICE");
}

TEST(ScsiInquiry, ShortAllocationLengthDecodesWhatCameAndSaysHowMuchIsNeeded) {
  const auto bytes = from_hex(vectors::kTgtStandardInquiry64);
  auto inq = decode_standard_inquiry(bytes);
  ASSERT_TRUE(inq);
  EXPECT_TRUE(inq->truncated);
  EXPECT_EQ(inq->required_length(), 66u);  // what libiscsi then asked for
  EXPECT_EQ(inq->vendor, "IET");
  EXPECT_EQ(inq->version_descriptors.size(), 3u);

  // Cut inside the product identification: the part present, trimmed.
  auto cut = decode_standard_inquiry(std::span(bytes).first(22));
  ASSERT_TRUE(cut);
  EXPECT_TRUE(cut->truncated);
  EXPECT_EQ(cut->vendor, "IET");
  EXPECT_EQ(cut->product, "VIRTUA");
  EXPECT_EQ(cut->revision, "");
}

TEST(ScsiInquiry, HandWrittenFlags) {
  const auto bytes = from_hex(vectors::kHandStandardInquiry);
  auto inq = decode_standard_inquiry(bytes);
  ASSERT_TRUE(inq);
  EXPECT_EQ(inq->qualifier, PeripheralQualifier::not_supported);
  EXPECT_EQ(inq->device_type, device_type::kUnknown);
  EXPECT_TRUE(inq->rmb);
  EXPECT_EQ(inq->version, 0x06);
  EXPECT_TRUE(inq->normaca);
  EXPECT_FALSE(inq->hisup);
  EXPECT_EQ(inq->tpgs, 3);
  EXPECT_TRUE(inq->third_party_copy);
  EXPECT_TRUE(inq->protect);
  EXPECT_FALSE(inq->sccs);
  EXPECT_FALSE(inq->acc);
  EXPECT_TRUE(inq->encserv);
  EXPECT_TRUE(inq->multip);
  EXPECT_FALSE(inq->cmdque);
  EXPECT_EQ(inq->vendor, "ACME");
  EXPECT_EQ(inq->product, "BIG DISK");
  EXPECT_EQ(inq->revision, "1.2");
  EXPECT_TRUE(inq->version_descriptors.empty());
  EXPECT_FALSE(inq->truncated);
  EXPECT_EQ(to_string(inq->qualifier), "NOT SUPPORTED");
}

TEST(ScsiInquiry, TrailingBytesBeyondAdditionalLengthAreNotData) {
  auto bytes = from_hex(vectors::kHandStandardInquiry);
  bytes.resize(80, 0x41);  // a buffer larger than the data, full of junk
  auto inq = decode_standard_inquiry(bytes);
  ASSERT_TRUE(inq);
  EXPECT_TRUE(inq->version_descriptors.empty());
  EXPECT_FALSE(inq->truncated);
}

TEST(ScsiInquiry, TooShortForTheHeader) {
  const auto bytes = from_hex("00 00 05 12");
  EXPECT_EQ(decode_standard_inquiry(bytes).error(), Errc::response_too_short);
  EXPECT_EQ(decode_standard_inquiry({}).error(), Errc::response_too_short);
}

TEST(ScsiVpd, SupportedPages) {
  const auto bytes = from_hex(vectors::kTgtVpdSupported);
  auto p = decode_vpd_supported_pages(bytes);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->header.page_code, 0x00);
  EXPECT_EQ(p->header.page_length, 6);
  EXPECT_EQ(p->pages, (std::vector<std::uint8_t>{0x00, 0x80, 0x83, 0xB0, 0xB1, 0xB2}));
  EXPECT_TRUE(p->supports(vpd_page::kBlockLimits));
  EXPECT_FALSE(p->supports(0x89));
  EXPECT_FALSE(p->truncated);

  auto cut = decode_vpd_supported_pages(std::span(bytes).first(7));
  ASSERT_TRUE(cut);
  EXPECT_TRUE(cut->truncated);
  EXPECT_EQ(cut->pages.size(), 3u);
}

TEST(ScsiVpd, UnitSerialNumberIsTrimmed) {
  const auto bytes = from_hex(vectors::kTgtVpdSerial);
  auto s = decode_vpd_unit_serial_number(bytes);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->serial, "beaf12");
  EXPECT_FALSE(s->truncated);
}

TEST(ScsiVpd, WrongPageIsAnError) {
  const auto serial = from_hex(vectors::kTgtVpdSerial);
  EXPECT_EQ(decode_vpd_device_identification(serial).error(), Errc::page_code_mismatch);
  EXPECT_EQ(decode_vpd_block_limits(serial).error(), Errc::page_code_mismatch);
  const auto limits = from_hex(vectors::kTgtVpdBlockLimits);
  EXPECT_EQ(decode_vpd_logical_block_provisioning(limits).error(), Errc::page_code_mismatch);
  EXPECT_EQ(decode_vpd_supported_pages(limits).error(), Errc::page_code_mismatch);
  EXPECT_EQ(decode_vpd_unit_serial_number(limits).error(), Errc::page_code_mismatch);
}

TEST(ScsiVpd, HeaderTooShort) {
  const auto bytes = from_hex("00 83 00");
  EXPECT_EQ(decode_vpd_header(bytes).error(), Errc::response_too_short);
  EXPECT_EQ(decode_vpd_device_identification(bytes).error(), Errc::response_too_short);
}

TEST(ScsiVpd, TgtDeviceIdentification) {
  const auto bytes = from_hex(vectors::kTgtVpdDeviceId);
  auto id = decode_vpd_device_identification(bytes);
  ASSERT_TRUE(id);
  EXPECT_FALSE(id->truncated);
  ASSERT_EQ(id->designators.size(), 3u);

  const Designator& t10 = id->designators[0];
  EXPECT_EQ(t10.type, DesignatorType::t10_vendor_id);
  EXPECT_EQ(t10.code_set, CodeSet::ascii);
  EXPECT_EQ(t10.association, Association::logical_unit);
  EXPECT_FALSE(t10.piv);
  EXPECT_EQ(t10.value.size(), 0x24u);
  EXPECT_EQ(t10.text(), "t10.IET     00010002");

  const Designator& naa3 = id->designators[1];
  EXPECT_EQ(naa3.type, DesignatorType::naa);
  EXPECT_EQ(naa3.code_set, CodeSet::binary);
  EXPECT_EQ(naa3.naa_format(), 3);
  EXPECT_EQ(naa3.text(), "naa.3000000100000002");

  const Designator& naa6 = id->designators[2];
  EXPECT_EQ(naa6.naa_format(), 6);
  EXPECT_EQ(naa6.text(), "naa.60000000000000000e00000000010002");
  EXPECT_FALSE(naa6.number());

  EXPECT_EQ(id->find(DesignatorType::naa), &naa3);
  EXPECT_EQ(id->find(DesignatorType::scsi_name_string), nullptr);
}

TEST(ScsiVpd, TruncatedDeviceIdentificationKeepsOnlyWholeDesignators) {
  // libiscsi's first request used allocation length 64: the NAA 6 designator was cut.
  const auto bytes = from_hex(vectors::kTgtVpdDeviceId);
  auto id = decode_vpd_device_identification(std::span(bytes).first(64));
  ASSERT_TRUE(id);
  EXPECT_TRUE(id->truncated);
  EXPECT_EQ(id->designators.size(), 2u);
  EXPECT_EQ(id->header.required_length(), 76u);
}

TEST(ScsiVpd, DesignatorRunningPastThePageIsNotReported) {
  // Page length 12 covers a header claiming 16 bytes of value: malformed, so dropped.
  const auto bytes = from_hex("00 83 00 0c 01 03 00 10 60 00 00 00 00 00 00 00");
  auto id = decode_vpd_device_identification(bytes);
  ASSERT_TRUE(id);
  EXPECT_TRUE(id->designators.empty());
  EXPECT_TRUE(id->truncated);
}

TEST(ScsiVpd, LioStyleDesignators) {
  const auto bytes = from_hex(vectors::kHandVpdDeviceId);
  auto id = decode_vpd_device_identification(bytes);
  ASSERT_TRUE(id);
  EXPECT_FALSE(id->truncated);
  ASSERT_EQ(id->designators.size(), 7u);

  EXPECT_EQ(id->designators[0].text(), "naa.6001405a1b2c3d4e5f60718293a4b5c6");
  EXPECT_EQ(id->designators[1].text(), "t10.LIO-ORG 6001405a1b2c3d4e");

  const Designator* port = id->find(DesignatorType::relative_target_port, Association::target_port);
  ASSERT_NE(port, nullptr);
  EXPECT_TRUE(port->piv);
  EXPECT_EQ(port->protocol_id, ProtocolId::iscsi);
  EXPECT_EQ(port->number(), 1);
  EXPECT_EQ(port->text(), "port 1");

  const Designator* tpg = id->find(DesignatorType::target_port_group, Association::target_port);
  ASSERT_NE(tpg, nullptr);
  EXPECT_EQ(tpg->number(), 0);
  EXPECT_EQ(tpg->text(), "tpg 0");

  const Designator* lug = id->find(DesignatorType::logical_unit_group);
  ASSERT_NE(lug, nullptr);
  EXPECT_EQ(lug->number(), 7);
  EXPECT_EQ(lug->text(), "lug 7");

  const Designator* name = id->find(DesignatorType::scsi_name_string, Association::target_port);
  ASSERT_NE(name, nullptr);
  EXPECT_EQ(name->code_set, CodeSet::utf8);
  EXPECT_EQ(name->text(), "iqn.2003-01.org.linux-iscsi.lab:t0,t,0x0001");

  const Designator* eui = id->find(DesignatorType::eui64);
  ASSERT_NE(eui, nullptr);
  EXPECT_EQ(eui->text(), "eui.0011223344556677");

  EXPECT_EQ(to_string(DesignatorType::scsi_name_string), "SCSI name string");
  EXPECT_EQ(to_string(Association::target_port), "target port");
  EXPECT_EQ(to_string(ProtocolId::iscsi), "iSCSI");
  EXPECT_EQ(to_string(CodeSet::utf8), "UTF-8");
}

TEST(ScsiVpd, TgtBlockLimits) {
  const auto bytes = from_hex(vectors::kTgtVpdBlockLimits);
  auto b = decode_vpd_block_limits(bytes);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->header.page_length, 0x3C);
  EXPECT_FALSE(b->wsnz);
  EXPECT_EQ(b->max_compare_and_write_length, 128);
  EXPECT_EQ(b->max_transfer_length, 0u);
  EXPECT_EQ(b->max_unmap_lba_count, 0xFFFFFFFFu);
  EXPECT_EQ(b->max_unmap_block_descriptor_count, 0xFFFFFFFFu);
  EXPECT_EQ(b->max_write_same_length, 0u);
  EXPECT_FALSE(b->truncated);
}

TEST(ScsiVpd, EveryBlockLimitsFieldAtItsOffset) {
  const auto bytes = from_hex(vectors::kHandVpdBlockLimits);
  auto b = decode_vpd_block_limits(bytes);
  ASSERT_TRUE(b);
  EXPECT_TRUE(b->wsnz);
  EXPECT_EQ(b->max_compare_and_write_length, 1);
  EXPECT_EQ(b->optimal_transfer_length_granularity, 8);
  EXPECT_EQ(b->max_transfer_length, 0x2000u);
  EXPECT_EQ(b->optimal_transfer_length, 0x400u);
  EXPECT_EQ(b->max_prefetch_length, 0x10u);
  EXPECT_EQ(b->max_unmap_lba_count, 0x400000u);
  EXPECT_EQ(b->max_unmap_block_descriptor_count, 1u);
  EXPECT_EQ(b->optimal_unmap_granularity, 8u);
  EXPECT_TRUE(b->ugavalid);
  EXPECT_EQ(b->unmap_granularity_alignment, 4u);  // UGAVALID bit not part of the value
  EXPECT_EQ(b->max_write_same_length, 0x400000u);
  EXPECT_EQ(b->max_atomic_transfer_length, 0x11111111u);
  EXPECT_EQ(b->atomic_alignment, 2u);
  EXPECT_EQ(b->atomic_transfer_length_granularity, 3u);
  EXPECT_EQ(b->max_atomic_transfer_length_with_boundary, 4u);
  EXPECT_EQ(b->max_atomic_boundary_size, 5u);
}

TEST(ScsiVpd, ShortBlockLimitsPageReportsNoLimits) {
  auto bytes = from_hex(vectors::kShortVpdBlockLimits);
  bytes.resize(64, 0xFF);  // bytes past the page length are not fields
  auto b = decode_vpd_block_limits(bytes);
  ASSERT_TRUE(b);
  EXPECT_FALSE(b->truncated);
  EXPECT_EQ(b->optimal_transfer_length_granularity, 1);
  EXPECT_EQ(b->max_transfer_length, 0x1000u);
  EXPECT_EQ(b->optimal_transfer_length, 0x80u);
  EXPECT_EQ(b->max_unmap_lba_count, 0u);
  EXPECT_EQ(b->max_write_same_length, 0u);
}

TEST(ScsiVpd, TgtLogicalBlockProvisioning) {
  const auto bytes = from_hex(vectors::kTgtVpdLbp);
  auto p = decode_vpd_logical_block_provisioning(bytes);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->threshold_exponent, 0);
  EXPECT_TRUE(p->lbpu);
  EXPECT_TRUE(p->lbpws);
  EXPECT_TRUE(p->lbpws10);
  EXPECT_EQ(p->lbprz, 1);
  EXPECT_FALSE(p->anc_sup);
  EXPECT_FALSE(p->dp);
  EXPECT_EQ(p->provisioning_type, ProvisioningType::thin);
  EXPECT_EQ(to_string(p->provisioning_type), "thin provisioned");
}

TEST(ScsiVpd, HandLogicalBlockProvisioning) {
  const auto bytes = from_hex(vectors::kHandVpdLbp);
  auto p = decode_vpd_logical_block_provisioning(bytes);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->threshold_exponent, 12);
  EXPECT_TRUE(p->lbpu);
  EXPECT_FALSE(p->lbpws);
  EXPECT_FALSE(p->lbpws10);
  EXPECT_EQ(p->lbprz, 4);
  EXPECT_TRUE(p->anc_sup);
  EXPECT_TRUE(p->dp);
  EXPECT_EQ(p->minimum_percentage, 9);
  EXPECT_EQ(p->provisioning_type, ProvisioningType::thin);
  EXPECT_EQ(p->threshold_percentage, 50);
}

TEST(ScsiVpd, HeaderCarriesQualifierAndType) {
  const auto bytes = from_hex("2c b2 00 04 00 00 01 00");
  auto p = decode_vpd_logical_block_provisioning(bytes);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->header.qualifier, PeripheralQualifier::not_connected);
  EXPECT_EQ(p->header.device_type, device_type::kStorageArrayController);
  EXPECT_EQ(p->provisioning_type, ProvisioningType::resource);
}

}  // namespace
}  // namespace iscsi::scsi
