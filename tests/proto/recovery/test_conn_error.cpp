#include <gtest/gtest.h>

#include "proto/recovery/conn_error.hpp"

namespace iscsi {
namespace {

TEST(ConnError, NumbersAndNamesMatchTheLinuxInitiator) {
  EXPECT_EQ(static_cast<int>(ConnError::nop_timedout), 22);
  EXPECT_EQ(kernel_name(ConnError::nop_timedout), "ISCSI_ERR_NOP_TIMEDOUT");
  EXPECT_EQ(static_cast<int>(ConnError::tcp_conn_close), 20);
  EXPECT_EQ(kernel_name(ConnError::tcp_conn_close), "ISCSI_ERR_TCP_CONN_CLOSE");
  EXPECT_EQ(kernel_name(ConnError::datasn), "ISCSI_ERR_DATASN");
  EXPECT_EQ(kernel_name(ConnError::hdr_dgst), "ISCSI_ERR_HDR_DGST");
  EXPECT_EQ(static_cast<int>(ConnError::hdr_dgst), 14);
  EXPECT_EQ(kernel_name(ConnError::data_dgst), "ISCSI_ERR_DATA_DGST");
}

TEST(ConnError, ParsesNamesShortNamesAndNumbers) {
  ConnError e{};
  ASSERT_TRUE(parse_conn_error("ISCSI_ERR_NOP_TIMEDOUT", e));
  EXPECT_EQ(e, ConnError::nop_timedout);
  ASSERT_TRUE(parse_conn_error("DATA_DGST", e));
  EXPECT_EQ(e, ConnError::data_dgst);
  ASSERT_TRUE(parse_conn_error("8", e));
  EXPECT_EQ(e, ConnError::proto);
  EXPECT_FALSE(parse_conn_error("23", e));
  EXPECT_FALSE(parse_conn_error("ISCSI_ERR_BOGUS", e));
  EXPECT_FALSE(parse_conn_error("", e));
}

TEST(ConnError, EveryCodeHasANameAndWords) {
  for (int i = 0; i <= 22; ++i) {
    const auto e = static_cast<ConnError>(i);
    EXPECT_NE(kernel_name(e), "ISCSI_ERR_UNKNOWN") << i;
    EXPECT_FALSE(describe(e).empty()) << i;
  }
  EXPECT_EQ(kernel_name(static_cast<ConnError>(99)), "ISCSI_ERR_UNKNOWN");
}

}  // namespace
}  // namespace iscsi
