// Sense data in both formats, sense key specific fields, names and printing; SCSI status
// names; the area's error category.
#include <gtest/gtest.h>

#include "proto/scsi/sense.hpp"
#include "proto/scsi/status.hpp"
#include "support/hex.hpp"
#include "vectors.hpp"

namespace iscsi::scsi {
namespace {

using test::from_hex;

TEST(ScsiSense, TgtUnitAttentionAfterLogin) {
  const auto bytes = from_hex(vectors::kTgtSenseUnitAttention);
  auto s = decode_sense(bytes);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->response_code, 0x70);
  EXPECT_EQ(s->format, SenseFormat::fixed);
  EXPECT_FALSE(s->deferred);
  EXPECT_EQ(s->key, SenseKey::unit_attention);
  EXPECT_EQ(s->asc, 0x29);
  EXPECT_EQ(s->ascq, 0x00);
  EXPECT_EQ(s->asc_ascq(), 0x2900);
  EXPECT_FALSE(s->information);  // VALID = 0
  EXPECT_EQ(s->command_specific, 0u);
  EXPECT_FALSE(s->sense_key_specific);
  EXPECT_EQ(s->additional_length, 10);
  EXPECT_FALSE(s->truncated);
  EXPECT_EQ(to_string(*s),
            "UNIT ATTENTION: POWER ON, RESET, OR BUS DEVICE RESET OCCURRED (0x6/0x29/0x00)");
}

TEST(ScsiSense, TgtLbaOutOfRangePrintsAsSpecified) {
  const auto bytes = from_hex(vectors::kTgtSenseLbaOutOfRange);
  auto s = decode_sense(bytes);
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->is(SenseKey::illegal_request, 0x21, 0x00));
  EXPECT_EQ(to_string(*s), "ILLEGAL REQUEST: LOGICAL BLOCK ADDRESS OUT OF RANGE (0x5/0x21/0x00)");
}

TEST(ScsiSense, TgtInvalidFieldInCdb) {
  const auto bytes = from_hex(vectors::kTgtSenseInvalidFieldInCdb);
  auto s = decode_sense(bytes);
  ASSERT_TRUE(s);
  EXPECT_EQ(to_string(*s), "ILLEGAL REQUEST: INVALID FIELD IN CDB (0x5/0x24/0x00)");
}

TEST(ScsiSense, FixedInformationWhenValid) {
  const auto bytes = from_hex(vectors::kHandSenseMediumError);
  auto s = decode_sense(bytes);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->key, SenseKey::medium_error);
  ASSERT_TRUE(s->information);
  EXPECT_EQ(*s->information, 0x1234u);
  EXPECT_TRUE(s->ili);
  EXPECT_FALSE(s->filemark);
  EXPECT_FALSE(s->eom);
  EXPECT_EQ(to_string(*s), "MEDIUM ERROR: UNRECOVERED READ ERROR (0x3/0x11/0x00)");
}

TEST(ScsiSense, FieldPointer) {
  const auto bytes = from_hex(vectors::kHandSenseFieldPointer);
  auto s = decode_sense(bytes);
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->sense_key_specific);
  const auto& sks = *s->sense_key_specific;
  EXPECT_TRUE(sks.command_data());
  EXPECT_TRUE(sks.bit_pointer_valid());
  EXPECT_EQ(sks.bit_pointer(), 3);
  EXPECT_EQ(sks.field_pointer(), 2);
}

TEST(ScsiSense, ProgressIndication) {
  const auto bytes = from_hex(vectors::kHandSenseProgress);
  auto s = decode_sense(bytes);
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->sense_key_specific);
  EXPECT_EQ(s->sense_key_specific->progress(), 0x4000);
  EXPECT_EQ(to_string(*s), "NOT READY: LOGICAL UNIT NOT READY, FORMAT IN PROGRESS (0x2/0x04/0x04)");
}

TEST(ScsiSense, RetryCountAndOverflowShareTheBytes) {
  SenseKeySpecific sks;
  sks.bytes = {0x81, 0x00, 0x05};
  EXPECT_EQ(sks.retry_count(), 5);
  EXPECT_TRUE(sks.overflow());
  EXPECT_FALSE(sks.command_data());
}

TEST(ScsiSense, DescriptorFormat) {
  const auto bytes = from_hex(vectors::kHandDescriptorSense);
  auto s = decode_sense(bytes);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->format, SenseFormat::descriptor);
  EXPECT_EQ(s->response_code, 0x72);
  EXPECT_EQ(s->key, SenseKey::illegal_request);
  EXPECT_EQ(s->asc, 0x24);
  EXPECT_EQ(s->ascq, 0x00);
  EXPECT_FALSE(s->truncated);
  ASSERT_EQ(s->descriptors.size(), 4u);
  EXPECT_EQ(s->descriptors[0].type, 0x00);
  EXPECT_EQ(s->descriptors[0].body.size(), 10u);
  EXPECT_EQ(s->descriptors[1].type, 0x02);
  EXPECT_EQ(s->descriptors[2].type, 0x01);
  EXPECT_EQ(s->descriptors[3].type, 0x05);
  ASSERT_TRUE(s->information);
  EXPECT_EQ(*s->information, 0x1234u);
  ASSERT_TRUE(s->command_specific);
  EXPECT_EQ(*s->command_specific, 0x77u);
  ASSERT_TRUE(s->sense_key_specific);
  EXPECT_EQ(s->sense_key_specific->field_pointer(), 2);
  EXPECT_EQ(s->sense_key_specific->bit_pointer(), 3);
  EXPECT_TRUE(s->ili);
  EXPECT_EQ(to_string(*s), "ILLEGAL REQUEST: INVALID FIELD IN CDB (0x5/0x24/0x00)");
}

TEST(ScsiSense, DescriptorInformationWithoutValidIsAbsent) {
  const auto bytes = from_hex("72 03 11 00 00 00 00 0c 00 0a 00 00 00 00 00 00 00 00 12 34");
  auto s = decode_sense(bytes);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->descriptors.size(), 1u);
  EXPECT_FALSE(s->information);
}

TEST(ScsiSense, DescriptorRunningPastTheDataIsDropped) {
  const auto bytes = from_hex("72 05 24 00 00 00 00 04 00 0a 80 00");
  auto s = decode_sense(bytes);
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->descriptors.empty());
  EXPECT_TRUE(s->truncated);
  EXPECT_EQ(s->asc, 0x24);
}

TEST(ScsiSense, DescriptorHeaderOnly) {
  auto s = decode_sense(from_hex("72 06 2a 09 00 00 00 00"));
  ASSERT_TRUE(s);
  EXPECT_EQ(to_string(*s), "UNIT ATTENTION: CAPACITY DATA HAS CHANGED (0x6/0x2a/0x09)");
  auto four = decode_sense(from_hex("73 06 3f 0e"));  // deferred, cut after ASCQ
  ASSERT_TRUE(four);
  EXPECT_TRUE(four->deferred);
  EXPECT_EQ(to_string(*four), "DEFERRED UNIT ATTENTION: REPORTED LUNS DATA HAS CHANGED (0x6/0x3f/0x0e)");
}

TEST(ScsiSense, Deferred) {
  auto s = decode_sense(from_hex("71 00 04 00 00 00 00 0a 00 00 00 00 44 00 00 00 00 00"));
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->deferred);
  EXPECT_EQ(to_string(*s), "DEFERRED HARDWARE ERROR: INTERNAL TARGET FAILURE (0x4/0x44/0x00)");
}

TEST(ScsiSense, ShortFixedSenseKeepsWhatIsThere) {
  const auto bytes = from_hex(vectors::kTgtSenseLbaOutOfRange);
  auto eight = decode_sense(std::span(bytes).first(8));
  ASSERT_TRUE(eight);
  EXPECT_TRUE(eight->truncated);
  EXPECT_EQ(eight->key, SenseKey::illegal_request);
  EXPECT_EQ(eight->asc, 0);  // not returned
  EXPECT_FALSE(eight->command_specific);
  auto three = decode_sense(std::span(bytes).first(3));
  ASSERT_TRUE(three);
  EXPECT_EQ(three->key, SenseKey::illegal_request);
}

TEST(ScsiSense, AdditionalLengthLimitsTheFields) {
  // Additional length 0: nothing after byte 7 belongs to the sense data.
  auto s = decode_sense(from_hex("70 00 05 00 00 00 00 00 00 00 00 00 21 00 00 00 00 00"));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->asc, 0);
  EXPECT_FALSE(s->truncated);
}

TEST(ScsiSense, Errors) {
  EXPECT_EQ(decode_sense({}).error(), Errc::response_too_short);
  EXPECT_EQ(decode_sense(from_hex("70 00")).error(), Errc::response_too_short);
  EXPECT_EQ(decode_sense(from_hex("72 05 24")).error(), Errc::response_too_short);
  EXPECT_EQ(decode_sense(from_hex("00 00 05 00")).error(), Errc::bad_sense_response_code);
  EXPECT_EQ(decode_sense(from_hex("7f 00 05 00")).error(), Errc::bad_sense_response_code);
  EXPECT_EQ(decode_sense(from_hex("74 00 05 00")).error(), Errc::bad_sense_response_code);
}

TEST(ScsiSense, UnknownAndVendorCodesStillPrint) {
  auto s = decode_sense(build_fixed_sense(SenseKey::illegal_request, 0x7E, 0x01));
  ASSERT_TRUE(s);
  EXPECT_EQ(to_string(*s), "ILLEGAL REQUEST: ASC 0x7e ASCQ 0x01 (0x5/0x7e/0x01)");
  EXPECT_EQ(asc_name(0x80, 0x00), "VENDOR SPECIFIC");
  EXPECT_EQ(asc_name(0x04, 0x90), "VENDOR SPECIFIC");
  EXPECT_EQ(asc_name(0x4D, 0x17), "TAGGED OVERLAPPED COMMANDS (NN = TASK TAG)");
  EXPECT_EQ(asc_name(0x7E, 0x01), "");
}

TEST(ScsiSense, BuildersRoundTrip) {
  auto fixed = decode_sense(build_fixed_sense(SenseKey::medium_error, 0x11, 0x00, 0xDEADBEEF));
  ASSERT_TRUE(fixed);
  EXPECT_TRUE(fixed->is(SenseKey::medium_error, 0x11, 0x00));
  EXPECT_EQ(fixed->information, 0xDEADBEEFu);
  EXPECT_EQ(build_fixed_sense(SenseKey::illegal_request, 0x21, 0x00),
            from_hex(vectors::kTgtSenseLbaOutOfRange));

  auto desc = decode_sense(
      build_descriptor_sense(SenseKey::aborted_command, 0x47, 0x7F, 0x1122334455667788));
  ASSERT_TRUE(desc);
  EXPECT_EQ(desc->format, SenseFormat::descriptor);
  EXPECT_TRUE(desc->is(SenseKey::aborted_command, 0x47, 0x7F));
  EXPECT_EQ(desc->information, 0x1122334455667788u);
  EXPECT_EQ(to_string(*desc),
            "ABORTED COMMAND: SOME COMMANDS CLEARED BY ISCSI PROTOCOL EVENT (0xb/0x47/0x7f)");
  EXPECT_EQ(build_descriptor_sense(SenseKey::not_ready, 0x3A, 0x00),
            from_hex("72 02 3a 00 00 00 00 00"));
}

TEST(ScsiSenseNames, EverySenseKey) {
  const char* expected[] = {"NO SENSE",        "RECOVERED ERROR", "NOT READY",
                            "MEDIUM ERROR",    "HARDWARE ERROR",  "ILLEGAL REQUEST",
                            "UNIT ATTENTION",  "DATA PROTECT",    "BLANK CHECK",
                            "VENDOR SPECIFIC", "COPY ABORTED",    "ABORTED COMMAND",
                            "RESERVED (0xC)",  "VOLUME OVERFLOW", "MISCOMPARE",
                            "COMPLETED"};
  for (unsigned k = 0; k < 16; ++k) {
    EXPECT_EQ(to_string(static_cast<SenseKey>(k)), expected[k]) << k;
  }
}

TEST(ScsiSenseNames, CommonAdditionalSenseCodes) {
  struct Row {
    std::uint8_t asc, ascq;
    std::string_view name;
  };
  const Row rows[] = {
      {0x00, 0x00, "NO ADDITIONAL SENSE INFORMATION"},
      {0x04, 0x00, "LOGICAL UNIT NOT READY, CAUSE NOT REPORTABLE"},
      {0x04, 0x01, "LOGICAL UNIT IS IN PROCESS OF BECOMING READY"},
      {0x04, 0x02, "LOGICAL UNIT NOT READY, INITIALIZING COMMAND REQUIRED"},
      {0x04, 0x03, "LOGICAL UNIT NOT READY, MANUAL INTERVENTION REQUIRED"},
      {0x04, 0x0A, "LOGICAL UNIT NOT ACCESSIBLE, ASYMMETRIC ACCESS STATE TRANSITION"},
      {0x04, 0x0B, "LOGICAL UNIT NOT ACCESSIBLE, TARGET PORT IN STANDBY STATE"},
      {0x04, 0x0C, "LOGICAL UNIT NOT ACCESSIBLE, TARGET PORT IN UNAVAILABLE STATE"},
      {0x04, 0x12, "LOGICAL UNIT NOT READY, OFFLINE"},
      {0x08, 0x00, "LOGICAL UNIT COMMUNICATION FAILURE"},
      {0x08, 0x01, "LOGICAL UNIT COMMUNICATION TIME-OUT"},
      {0x11, 0x00, "UNRECOVERED READ ERROR"},
      {0x1D, 0x00, "MISCOMPARE DURING VERIFY OPERATION"},
      {0x20, 0x00, "INVALID COMMAND OPERATION CODE"},
      {0x21, 0x00, "LOGICAL BLOCK ADDRESS OUT OF RANGE"},
      {0x24, 0x00, "INVALID FIELD IN CDB"},
      {0x25, 0x00, "LOGICAL UNIT NOT SUPPORTED"},
      {0x26, 0x00, "INVALID FIELD IN PARAMETER LIST"},
      {0x27, 0x00, "WRITE PROTECTED"},
      {0x27, 0x07, "SPACE ALLOCATION FAILED WRITE PROTECT"},
      {0x28, 0x00, "NOT READY TO READY CHANGE, MEDIUM MAY HAVE CHANGED"},
      {0x29, 0x00, "POWER ON, RESET, OR BUS DEVICE RESET OCCURRED"},
      {0x29, 0x01, "POWER ON OCCURRED"},
      {0x29, 0x02, "SCSI BUS RESET OCCURRED"},
      {0x29, 0x03, "BUS DEVICE RESET FUNCTION OCCURRED"},
      {0x29, 0x04, "DEVICE INTERNAL RESET"},
      {0x29, 0x05, "TRANSCEIVER MODE CHANGED TO SINGLE-ENDED"},
      {0x29, 0x06, "TRANSCEIVER MODE CHANGED TO LVD"},
      {0x29, 0x07, "I_T NEXUS LOSS OCCURRED"},
      {0x2A, 0x00, "PARAMETERS CHANGED"},
      {0x2A, 0x01, "MODE PARAMETERS CHANGED"},
      {0x2A, 0x06, "ASYMMETRIC ACCESS STATE CHANGED"},
      {0x2A, 0x09, "CAPACITY DATA HAS CHANGED"},
      {0x38, 0x07, "THIN PROVISIONING SOFT THRESHOLD REACHED"},
      {0x3A, 0x00, "MEDIUM NOT PRESENT"},
      {0x3F, 0x03, "INQUIRY DATA HAS CHANGED"},
      {0x3F, 0x0E, "REPORTED LUNS DATA HAS CHANGED"},
      {0x44, 0x00, "INTERNAL TARGET FAILURE"},
      {0x47, 0x00, "SCSI PARITY ERROR"},
      {0x47, 0x7F, "SOME COMMANDS CLEARED BY ISCSI PROTOCOL EVENT"},
      {0x4B, 0x00, "DATA PHASE ERROR"},
      {0x4B, 0x07, "CONNECTION LOST"},
  };
  for (const auto& r : rows) {
    EXPECT_EQ(asc_name(r.asc, r.ascq), r.name) << std::hex << int(r.asc) << "/" << int(r.ascq);
  }
  // Every 04/xx and 29/xx code the table knows starts like its family.
  for (unsigned q = 0; q < 0x80; ++q) {
    const auto n = asc_name(0x04, static_cast<std::uint8_t>(q));
    if (!n.empty()) {
      EXPECT_TRUE(n.starts_with("LOGICAL UNIT")) << n;
    }
  }
}

TEST(ScsiStatus, Names) {
  EXPECT_EQ(to_string(Status::good), "GOOD");
  EXPECT_EQ(to_string(Status::check_condition), "CHECK CONDITION");
  EXPECT_EQ(to_string(Status::condition_met), "CONDITION MET");
  EXPECT_EQ(to_string(Status::busy), "BUSY");
  EXPECT_EQ(to_string(Status::reservation_conflict), "RESERVATION CONFLICT");
  EXPECT_EQ(to_string(Status::task_set_full), "TASK SET FULL");
  EXPECT_EQ(to_string(Status::aca_active), "ACA ACTIVE");
  EXPECT_EQ(to_string(Status::task_aborted), "TASK ABORTED");
  EXPECT_EQ(static_cast<int>(Status::check_condition), 0x02);
  EXPECT_EQ(static_cast<int>(Status::task_set_full), 0x28);
  EXPECT_EQ(static_cast<int>(Status::task_aborted), 0x40);
  EXPECT_EQ(to_string(static_cast<Status>(0x03)), "UNKNOWN STATUS");
  EXPECT_TRUE(is_known(Status::busy));
  EXPECT_FALSE(is_known(static_cast<Status>(0x03)));
}

TEST(ScsiErrc, CategoryAndWords) {
  std::error_code ec = Errc::lba_out_of_range;
  EXPECT_STREQ(ec.category().name(), "iscsi.scsi");
  EXPECT_EQ(ec.message(), "logical block address does not fit the CDB");
  for (int i = 1; i <= static_cast<int>(Errc::capacity_overflow); ++i) {
    EXPECT_NE(describe(static_cast<Errc>(i)), "unknown SCSI error") << i;
  }
}

}  // namespace
}  // namespace iscsi::scsi
