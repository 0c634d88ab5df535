// SCSI status, sense and engine failures as the errno an NBD client gets, with words.
#include <gtest/gtest.h>

#include <cerrno>

#include "nbd/io_error.hpp"
#include "net/errors.hpp"
#include "proto/scsi/sense.hpp"

namespace iscsi::nbd {
namespace {

session::ScsiResult check_condition(scsi::SenseKey key, std::uint8_t asc, std::uint8_t ascq) {
  session::ScsiResult r;
  r.status = 0x02;
  r.sense_raw = scsi::build_fixed_sense(key, asc, ascq);
  r.sense = *scsi::decode_sense(r.sense_raw);
  return r;
}

TEST(NbdIoError, SenseKeysMapToErrno) {
  using K = scsi::SenseKey;
  struct Row {
    K key;
    std::uint8_t asc, ascq;
    int err;
  };
  for (const Row& row : {Row{K::medium_error, 0x11, 0x00, EIO},
                         Row{K::hardware_error, 0x44, 0x00, EIO},
                         Row{K::data_protect, 0x27, 0x00, EROFS},
                         Row{K::illegal_request, 0x21, 0x00, EINVAL},
                         Row{K::illegal_request, 0x24, 0x00, EINVAL},
                         Row{K::illegal_request, 0x20, 0x00, EOPNOTSUPP},
                         Row{K::illegal_request, 0x25, 0x00, EIO},
                         Row{K::volume_overflow, 0x00, 0x00, ENOSPC},
                         Row{K::not_ready, 0x04, 0x01, EIO},
                         Row{K::aborted_command, 0x00, 0x00, EIO}}) {
    const auto e = error_from_result("READ(16) at LBA 8 (1 blocks)", check_condition(row.key, row.asc, row.ascq));
    EXPECT_EQ(e.error(), row.err) << e.what();
    EXPECT_NE(std::string(e.what()).find("READ(16) at LBA 8"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(std::string(scsi::to_string(row.key))), std::string::npos)
        << e.what();
  }
}

TEST(NbdIoError, MediumErrorIsNamedInWords) {
  const auto e = error_from_result("READ(16)", check_condition(scsi::SenseKey::medium_error, 0x11, 0));
  EXPECT_EQ(e.error(), EIO);
  EXPECT_NE(std::string(e.what()).find("CHECK CONDITION, MEDIUM ERROR: UNRECOVERED READ ERROR"),
            std::string::npos)
      << e.what();
}

TEST(NbdIoError, StatusesWithoutSense) {
  session::ScsiResult r;
  r.status = 0x18;  // RESERVATION CONFLICT
  EXPECT_EQ(error_from_result("WRITE(16)", r).error(), EPERM);
  r.status = 0x08;  // BUSY
  EXPECT_EQ(error_from_result("WRITE(16)", r).error(), EIO);
  r.status = 0x00;
  r.response = pdu::ScsiResponseCode::target_failure;
  EXPECT_EQ(error_from_result("WRITE(16)", r).error(), EIO);
  EXPECT_FALSE(good(r));
  r.response = pdu::ScsiResponseCode::command_completed_at_target;
  EXPECT_TRUE(good(r));
}

TEST(NbdIoError, EngineFailuresAreEio) {
  const auto t = error_from_exception(
      "READ(16)", std::make_exception_ptr(net::NetError(net::Errc::replacement_timeout, "2 s")));
  EXPECT_EQ(t.error(), EIO);
  EXPECT_NE(std::string(t.what()).find("2 s"), std::string::npos);
  const auto c = error_from_exception(
      "READ(16)", std::make_exception_ptr(net::NetError(net::Errc::session_closed, "")));
  EXPECT_EQ(c.error(), EIO);
  const auto i = error_from_exception(
      "READ(16)", std::make_exception_ptr(net::NetError(net::Errc::invalid_argument, "bad")));
  EXPECT_EQ(i.error(), EINVAL);
  const auto o = error_from_exception("READ(16)", std::make_exception_ptr(std::runtime_error("x")));
  EXPECT_EQ(o.error(), EIO);
}

}  // namespace
}  // namespace iscsi::nbd
