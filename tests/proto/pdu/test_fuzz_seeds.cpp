// Writes the seed corpora of the PDU fuzz targets from the test samples (valid PDUs of every
// type, in each target's input layout). Disabled by default; regenerate from the repository
// root with:
//   ./build/<dir>/tests/test_proto_pdu --gtest_also_run_disabled_tests
//       --gtest_filter='FuzzSeeds.*'
// (ISCSI_FUZZ_CORPUS_DIR overrides the default output directory fuzz/corpus.)
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "samples.hpp"

namespace iscsi::pdu {
namespace {

namespace fs = std::filesystem;

std::string short_name(const Pdu& p) {
  std::string s = to_string(opcode_of(p));
  for (char& c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return s;
}

void write_seed(const fs::path& dir, const std::string& name, std::uint8_t prefix, ByteSpan body,
                bool with_prefix = true) {
  fs::create_directories(dir);
  std::ofstream out(dir / name, std::ios::binary);
  if (with_prefix) out.put(static_cast<char>(prefix));
  out.write(reinterpret_cast<const char*>(body.data()), static_cast<std::streamsize>(body.size()));
  ASSERT_LE(body.size() + 1, 4096u) << name;
}

TEST(FuzzSeeds, DISABLED_Write) {
  const char* env = std::getenv("ISCSI_FUZZ_CORPUS_DIR");
  const fs::path root = env ? env : "fuzz/corpus";
  ASSERT_TRUE(fs::exists(root)) << root << " (run from the repository root)";
  int index = 0;
  for (const Pdu& p : test::all_samples()) {
    const std::string name = std::to_string(index++) + "_" + short_name(p);
    const bool to_target = direction_of(opcode_of(p)) == Direction::initiator_to_target;
    // framer: config byte, chunk byte, stream.
    const ByteVector plain = test::wire(p);
    ByteVector framed = {static_cast<std::uint8_t>(to_target ? 4 : 0), 255};
    framed.insert(framed.end(), plain.begin(), plain.end());
    write_seed(root / "framer", name, 0, framed, false);
    // pdu_bhs: strict byte, BHS.
    write_seed(root / "pdu_bhs", name, 1, ByteSpan(plain).first(kBhsLength));
    // pdu_decode: digest byte, wire (both digests on).
    write_seed(root / "pdu_decode", name, 3 | 4, test::wire(p, {true, true}));
  }
  // A whole login-then-full-feature stream with digests, fed in 7-byte chunks.
  ByteVector stream = {0x03, 6};
  for (const Pdu& p : test::samples_from(Direction::target_to_initiator)) {
    ASSERT_FALSE(encode(p, {true, true}, stream));
  }
  write_seed(root / "framer", "stream_target_digests", 0, stream, false);
  // pdu_ahs: opcode byte, AHS area.
  ByteVector ahs;
  encode_ahs({test::pattern(16, 0x80), 0x2000}, ahs);
  write_seed(root / "pdu_ahs", "cdb_and_bidi", 0x01, ahs);
  ahs.clear();
  encode_ahs({{}, 0x10}, ahs);
  write_seed(root / "pdu_ahs", "bidi", 0x01, ahs);
  // pdu_sense: a SenseLength-prefixed segment.
  const ByteVector sense = make_sense_data(test::pattern(18, 0x70), test::pattern(4));
  write_seed(root / "pdu_sense", "sense_and_rest", 0, sense, false);
  write_seed(root / "pdu_sense", "rest_only", 0, make_sense_data({}, test::pattern(6)), false);
}

}  // namespace
}  // namespace iscsi::pdu
