// CDB builders, byte for byte against CDBs derived by hand from SPC-4/SBC-4 (each expected
// byte's field is named in the comment beside it), range checks, and a cross-check against
// the CDBs libiscsi 1.19 put on the wire for the same commands (captured with strace).
#include <gtest/gtest.h>

#include <vector>

#include "proto/scsi/cdb.hpp"
#include "support/hex.hpp"

namespace iscsi::scsi {
namespace {

using test::from_hex;

std::vector<std::uint8_t> bytes(const Cdb& c) { return {c.span().begin(), c.span().end()}; }

TEST(ScsiCdb, TestUnitReady) {
  const Cdb c = test_unit_ready();
  EXPECT_EQ(bytes(c), from_hex("00 00 00 00 00 00"));  // opcode 0x00, reserved, CONTROL
  EXPECT_EQ(c.direction, DataDirection::none);
  EXPECT_EQ(command_name(c), "TEST UNIT READY");
}

TEST(ScsiCdb, InquiryStandardAndVpd) {
  EXPECT_EQ(bytes(inquiry(36)), from_hex("12"     // INQUIRY
                                         "00"     // EVPD = 0
                                         "00"     // PAGE CODE
                                         "0024"   // ALLOCATION LENGTH = 36
                                         "00"));  // CONTROL
  const Cdb vpd = inquiry_vpd(0x83, 0x0200);
  EXPECT_EQ(bytes(vpd), from_hex("12"
                                 "01"     // EVPD = 1
                                 "83"     // PAGE CODE: device identification
                                 "0200"   // ALLOCATION LENGTH = 512
                                 "00"));
  EXPECT_EQ(vpd.direction, DataDirection::read);
  EXPECT_EQ(bytes(inquiry_vpd(0xB0, 0xFFFF)), from_hex("12 01 b0 ff ff 00"));
}

TEST(ScsiCdb, ReadCapacity) {
  const Cdb rc10 = read_capacity10();
  EXPECT_EQ(bytes(rc10), from_hex("25 00 00000000 0000 00 00"));  // LBA and PMI obsolete: 0
  EXPECT_EQ(rc10.direction, DataDirection::read);
  const Cdb rc16 = read_capacity16();
  EXPECT_EQ(bytes(rc16), from_hex("9e"                 // SERVICE ACTION IN(16)
                                  "10"                 // SERVICE ACTION: READ CAPACITY(16)
                                  "0000000000000000"   // LBA (obsolete)
                                  "00000020"           // ALLOCATION LENGTH = 32
                                  "00"                 // PMI = 0
                                  "00"));              // CONTROL
  EXPECT_EQ(command_name(rc16), "READ CAPACITY(16)");
}

TEST(ScsiCdb, Read10WithFua) {
  auto c = read10(0x12345678, 0x0102, {.fua = true});
  ASSERT_TRUE(c);
  EXPECT_EQ(bytes(*c), from_hex("28"         // READ(10)
                                "08"         // RDPROTECT 0, DPO 0, FUA 1 (bit 3)
                                "12345678"   // LOGICAL BLOCK ADDRESS
                                "00"         // GROUP NUMBER
                                "0102"       // TRANSFER LENGTH
                                "00"));
  EXPECT_EQ(c->direction, DataDirection::read);
}

TEST(ScsiCdb, Read16WithDpoFuaAndGroup) {
  auto c = read16(0x0102030405060708, 0x0A0B0C0D, {.fua = true, .dpo = true, .group_number = 5});
  ASSERT_TRUE(c);
  EXPECT_EQ(bytes(*c), from_hex("88"                 // READ(16)
                                "18"                 // DPO (bit 4) + FUA (bit 3)
                                "0102030405060708"   // LOGICAL BLOCK ADDRESS
                                "0a0b0c0d"           // TRANSFER LENGTH
                                "05"                 // GROUP NUMBER
                                "00"));
}

TEST(ScsiCdb, Write10AndWrite16) {
  auto w10 = write10(0x1000, 8, {.protect = 3});
  ASSERT_TRUE(w10);
  EXPECT_EQ(bytes(*w10), from_hex("2a"        // WRITE(10)
                                  "60"        // WRPROTECT = 3 (bits 7-5)
                                  "00001000"  // LBA
                                  "00"
                                  "0008"      // TRANSFER LENGTH
                                  "00"));
  EXPECT_EQ(w10->direction, DataDirection::write);
  auto w16 = write16(0x100000000, 1, {.fua = true});
  ASSERT_TRUE(w16);
  EXPECT_EQ(bytes(*w16), from_hex("8a 08 0000000100000000 00000001 00 00"));
  EXPECT_EQ(command_name(*w16), "WRITE(16)");
}

TEST(ScsiCdb, TenByteCdbsRefuseWhatTheirFieldsCannotHold) {
  EXPECT_TRUE(read10(0xFFFFFFFF, 1));  // the last LBA a READ(10) can name
  EXPECT_EQ(read10(0x100000000, 1).error(), Errc::lba_out_of_range);
  EXPECT_TRUE(read10(0, 65535));
  EXPECT_EQ(read10(0, 65536).error(), Errc::transfer_length_out_of_range);
  EXPECT_EQ(write10(0x100000000, 1).error(), Errc::lba_out_of_range);
  EXPECT_EQ(write10(0, 70000).error(), Errc::transfer_length_out_of_range);
  EXPECT_EQ(read10(0, 1, {.protect = 8}).error(), Errc::field_out_of_range);
  EXPECT_EQ(read10(0, 1, {.group_number = 64}).error(), Errc::field_out_of_range);
  EXPECT_TRUE(read10(0, 0));  // transfer length 0 is legal: nothing moves
}

TEST(ScsiCdb, SixteenByteCdbsRefuseRangesPastTheLastLba) {
  const std::uint64_t last = ~std::uint64_t{0};
  EXPECT_TRUE(read16(last, 1));
  EXPECT_EQ(read16(last, 2).error(), Errc::lba_out_of_range);
  EXPECT_EQ(write16(last - 1, 3).error(), Errc::lba_out_of_range);
  EXPECT_TRUE(write16(last, 0));
  EXPECT_TRUE(read16(0, 0xFFFFFFFF));
  EXPECT_EQ(write16(0, 1, {.protect = 9}).error(), Errc::field_out_of_range);
}

TEST(ScsiCdb, ReportLuns) {
  auto c = report_luns(0x1000, ReportLunsSelect::all_accessible);
  ASSERT_TRUE(c);
  EXPECT_EQ(bytes(*c), from_hex("a0"         // REPORT LUNS
                                "00"
                                "02"         // SELECT REPORT
                                "000000"
                                "00001000"   // ALLOCATION LENGTH
                                "00"
                                "00"));      // CONTROL
  EXPECT_EQ(c->length, 12);
  EXPECT_TRUE(report_luns(16));
  EXPECT_EQ(report_luns(15).error(), Errc::allocation_length_too_small);
}

TEST(ScsiCdb, SynchronizeCache) {
  auto c10 = synchronize_cache10(0x10, 0x20, {.immed = true});
  ASSERT_TRUE(c10);
  EXPECT_EQ(bytes(*c10), from_hex("35"        // SYNCHRONIZE CACHE(10)
                                  "02"        // IMMED (bit 1)
                                  "00000010"  // LBA
                                  "00"        // GROUP NUMBER
                                  "0020"      // NUMBER OF LOGICAL BLOCKS
                                  "00"));
  EXPECT_EQ(c10->direction, DataDirection::none);
  auto whole = synchronize_cache16();
  ASSERT_TRUE(whole);
  EXPECT_EQ(bytes(*whole), from_hex("91 00 0000000000000000 00000000 00 00"));
  auto c16 = synchronize_cache16(0x0102030405060708, 0x11223344, {.group_number = 0x3F});
  ASSERT_TRUE(c16);
  EXPECT_EQ(bytes(*c16), from_hex("91 00 0102030405060708 11223344 3f 00"));
  EXPECT_EQ(synchronize_cache10(0x100000000, 1).error(), Errc::lba_out_of_range);
  EXPECT_EQ(synchronize_cache10(0, 0x10000).error(), Errc::transfer_length_out_of_range);
  EXPECT_EQ(synchronize_cache16(0, 0, {.group_number = 0x40}).error(), Errc::field_out_of_range);
}

TEST(ScsiCdb, UnmapBuildsCdbAndParameterList) {
  const std::vector<UnmapDescriptor> extents{{0x1000, 8}, {0x0102030405060708, 0x10}};
  auto u = unmap(extents, {.anchor = true, .group_number = 3});
  ASSERT_TRUE(u);
  EXPECT_EQ(bytes(u->cdb), from_hex("42"     // UNMAP
                                    "01"     // ANCHOR
                                    "00000000"
                                    "03"     // GROUP NUMBER
                                    "0028"   // PARAMETER LIST LENGTH = 8 + 2 * 16
                                    "00"));
  EXPECT_EQ(u->cdb.direction, DataDirection::write);
  EXPECT_EQ(u->parameter_list, from_hex("0026"       // UNMAP DATA LENGTH = 40 - 2
                                        "0020"       // BLOCK DESCRIPTOR DATA LENGTH = 32
                                        "00000000"   // reserved
                                        "0000000000001000 00000008 00000000"
                                        "0102030405060708 00000010 00000000"));
}

TEST(ScsiCdb, UnmapLimits) {
  auto empty = unmap({});
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->parameter_list, from_hex("0006 0000 00000000"));
  EXPECT_EQ(bytes(empty->cdb), from_hex("42 00 00000000 00 0008 00"));

  std::vector<UnmapDescriptor> many(kMaxUnmapDescriptors, UnmapDescriptor{0, 1});
  auto most = unmap(many);
  ASSERT_TRUE(most);
  EXPECT_EQ(most->parameter_list.size(), 8 + 16 * kMaxUnmapDescriptors);
  EXPECT_LE(most->parameter_list.size(), 0xFFFFu);
  many.push_back({0, 1});
  EXPECT_EQ(unmap(many).error(), Errc::too_many_unmap_descriptors);

  const std::vector<UnmapDescriptor> wraps{{~std::uint64_t{0}, 2}};
  EXPECT_EQ(unmap(wraps).error(), Errc::lba_out_of_range);
  EXPECT_EQ(unmap({}, {.group_number = 64}).error(), Errc::field_out_of_range);
}

TEST(ScsiCdb, WriteSame16Flags) {
  auto u = write_same16(0x2000, 0x800, {.unmap = true});
  ASSERT_TRUE(u);
  EXPECT_EQ(bytes(*u), from_hex("93"                 // WRITE SAME(16)
                                "08"                 // UNMAP (bit 3)
                                "0000000000002000"   // LBA
                                "00000800"           // NUMBER OF LOGICAL BLOCKS
                                "00 00"));
  EXPECT_EQ(u->direction, DataDirection::write);  // one block of data follows

  auto anchored = write_same16(0, 1, {.unmap = true, .anchor = true});
  ASSERT_TRUE(anchored);
  EXPECT_EQ(anchored->bytes[1], 0x18);  // ANCHOR (bit 4) + UNMAP (bit 3)

  auto zero = write_same16(5, 6, {.unmap = true, .ndob = true});
  ASSERT_TRUE(zero);
  EXPECT_EQ(bytes(*zero), from_hex("93 09 0000000000000005 00000006 00 00"));  // + NDOB (bit 0)
  EXPECT_EQ(zero->direction, DataDirection::none);

  EXPECT_EQ(write_same16(0, 1, {.anchor = true}).error(), Errc::invalid_flag_combination);
  EXPECT_EQ(write_same16(~std::uint64_t{0}, 2).error(), Errc::lba_out_of_range);
  EXPECT_TRUE(write_same16(0, 0));  // 0 blocks: to the end of the medium (if WSNZ = 0)
}

TEST(ScsiCdb, ModeSense6) {
  auto c = mode_sense6(0xFF, {.page_code = 0x08,
                              .page_control = PageControl::changeable,
                              .disable_block_descriptors = true});
  ASSERT_TRUE(c);
  EXPECT_EQ(bytes(*c), from_hex("1a"    // MODE SENSE(6)
                                "08"    // DBD (bit 3)
                                "48"    // PC = 01b (bits 7-6), PAGE CODE = 0x08 caching
                                "00"    // SUBPAGE CODE
                                "ff"    // ALLOCATION LENGTH
                                "00"));
  auto control_ext = mode_sense6(0x40, {.page_code = 0x0A, .subpage_code = 0x01});
  ASSERT_TRUE(control_ext);
  EXPECT_EQ(bytes(*control_ext), from_hex("1a 00 0a 01 40 00"));
  EXPECT_EQ(mode_sense6(0xFF, {.page_code = 0x40}).error(), Errc::field_out_of_range);
  EXPECT_EQ(mode_sense6(0xFF, {.long_lba_accepted = true}).error(),
            Errc::invalid_flag_combination);
}

TEST(ScsiCdb, ModeSense10) {
  auto c = mode_sense10(0x1000, {.page_code = kAllModePages,
                                 .subpage_code = 0xFF,
                                 .page_control = PageControl::saved,
                                 .disable_block_descriptors = false,
                                 .long_lba_accepted = true});
  ASSERT_TRUE(c);
  EXPECT_EQ(bytes(*c), from_hex("5a"      // MODE SENSE(10)
                                "10"      // LLBAA (bit 4)
                                "ff"      // PC = 11b, PAGE CODE = 0x3f (all)
                                "ff"      // SUBPAGE CODE = all
                                "000000"  // reserved
                                "1000"    // ALLOCATION LENGTH
                                "00"));
  EXPECT_EQ(c->length, 10);
}

// The same commands, as libiscsi 1.19's iscsi-inq / iscsi-readcapacity16 / iscsi-test-cu sent
// them to tgt (the 16-byte CDB field of the captured SCSI Command PDUs, trimmed to length).
TEST(ScsiCdb, SameBytesAsLibiscsi) {
  EXPECT_EQ(bytes(inquiry(64)), from_hex("12 00 00 00 40 00"));
  EXPECT_EQ(bytes(inquiry_vpd(0xB0, 64)), from_hex("12 01 b0 00 40 00"));
  EXPECT_EQ(bytes(read_capacity10()), from_hex("25 00 00 00 00 00 00 00 00 00"));
  EXPECT_EQ(bytes(read_capacity16(96)),
            from_hex("9e 10 00 00 00 00 00 00 00 00 00 00 00 60 00 00"));
  EXPECT_EQ(bytes(*mode_sense6(0xFF)), from_hex("1a 00 3f 00 ff 00"));
  EXPECT_EQ(bytes(*read10(0x1FFFF, 2)), from_hex("28 00 00 01 ff ff 00 00 02 00"));
  EXPECT_EQ(bytes(*read16(0x1FFFF, 2)),
            from_hex("88 00 00 00 00 00 00 01 ff ff 00 00 00 02 00 00"));
}

TEST(ScsiCdb, CommandNames) {
  EXPECT_EQ(command_name(*read10(0, 1)), "READ(10)");
  EXPECT_EQ(command_name(unmap({})->cdb), "UNMAP");
  EXPECT_EQ(command_name(*write_same16(0, 1)), "WRITE SAME(16)");
  EXPECT_EQ(command_name(*mode_sense10(8)), "MODE SENSE(10)");
  EXPECT_EQ(command_name(*report_luns(16)), "REPORT LUNS");
  EXPECT_EQ(command_name(*synchronize_cache16()), "SYNCHRONIZE CACHE(16)");
  Cdb other;
  other.bytes[0] = 0xC0;
  other.length = 6;
  EXPECT_EQ(command_name(other), "UNKNOWN");
}

}  // namespace
}  // namespace iscsi::scsi
