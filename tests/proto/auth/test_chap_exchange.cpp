// ChapInitiator and ChapTarget: wired back to back in memory for every algorithm (one-way and
// mutual), and every refusal with its specific error.
#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "proto/auth/chap_initiator.hpp"
#include "proto/auth/chap_target.hpp"
#include "support/hex.hpp"

namespace iscsi::auth {
namespace {

using test::from_hex;
using text::KeyValueList;

constexpr std::string_view kInitiatorName = "iqn.2026-11.org.example:host0";
constexpr std::string_view kTargetName = "iqn.2026-11.org.example:t0";
constexpr std::string_view kInitiatorSecret = "initiator-secret-16";
constexpr std::string_view kTargetSecret = "target-secret-0016";

// Deterministic "randomness": a counter, different per source.
RandomSource counter_source(std::uint8_t start) {
  return [next = start](std::span<std::uint8_t> out) mutable {
    for (auto& b : out) b = next++;
  };
}

RandomSource constant_source(std::uint8_t value) {
  return [value](std::span<std::uint8_t> out) {
    for (auto& b : out) b = value;
  };
}

ChapInitiatorConfig initiator_config(bool mutual, ChapAlgorithmList algs = default_chap_algorithms()) {
  ChapInitiatorConfig c;
  c.algorithms = std::move(algs);
  c.local = {std::string(kInitiatorName), Secret(kInitiatorSecret)};
  if (mutual) c.target = ChapCredentials{std::string(kTargetName), Secret(kTargetSecret)};
  c.random = counter_source(0x80);
  return c;
}

ChapTargetConfig target_config(bool mutual, ChapAlgorithmList algs = default_chap_algorithms()) {
  ChapTargetConfig c;
  c.algorithms = std::move(algs);
  c.initiator = {std::string(kInitiatorName), Secret(kInitiatorSecret)};
  if (mutual) c.mutual = ChapCredentials{std::string(kTargetName), Secret(kTargetSecret)};
  c.random = counter_source(0x10);
  return c;
}

ChapInitiator make_initiator(bool mutual, ChapAlgorithmList algs = default_chap_algorithms()) {
  auto r = ChapInitiator::create(initiator_config(mutual, std::move(algs)));
  EXPECT_TRUE(r) << r.error().message();
  return std::move(r).value();
}

ChapTarget make_target(bool mutual, ChapAlgorithmList algs = default_chap_algorithms()) {
  auto r = ChapTarget::create(target_config(mutual, std::move(algs)));
  EXPECT_TRUE(r) << r.error().message();
  return std::move(r).value();
}

std::string value_of(const KeyValueList& keys, std::string_view key) {
  auto v = text::find_value(keys, key);
  return v ? std::string(*v) : std::string("<absent>");
}

// --- Back to back ---

class ChapEveryAlgorithm : public ::testing::TestWithParam<ChapAlgorithm> {};

TEST_P(ChapEveryAlgorithm, OneWayExchange) {
  ChapInitiator ini = make_initiator(false, {GetParam()});
  ChapTarget tgt = make_target(false);
  auto offer = ini.offer_algorithms();
  ASSERT_TRUE(offer);
  EXPECT_EQ(value_of(*offer, "CHAP_A"), std::to_string(chap_a_value(GetParam())));
  auto challenge = tgt.on_algorithms(*offer);
  ASSERT_TRUE(challenge) << challenge.error().message();
  auto response = ini.respond(*challenge);
  ASSERT_TRUE(response) << response.error().message();
  EXPECT_EQ(value_of(*response, "CHAP_N"), kInitiatorName);
  EXPECT_EQ(value_of(*response, "CHAP_R").size(), 2 + 2 * digest_size(GetParam()));
  EXPECT_FALSE(text::contains(*response, "CHAP_C"));
  EXPECT_EQ(ini.state(), ChapInitiator::State::done);
  EXPECT_EQ(ini.algorithm(), GetParam());
  auto final_keys = tgt.on_response(*response);
  ASSERT_TRUE(final_keys) << final_keys.error().message();
  EXPECT_TRUE(final_keys->empty());
  EXPECT_EQ(tgt.state(), ChapTarget::State::done);
}

TEST_P(ChapEveryAlgorithm, MutualExchange) {
  ChapInitiator ini = make_initiator(true, {GetParam()});
  ChapTarget tgt = make_target(true);
  auto challenge = tgt.on_algorithms(*ini.offer_algorithms());
  ASSERT_TRUE(challenge);
  EXPECT_EQ(value_of(*challenge, "CHAP_A"), std::to_string(chap_a_value(GetParam())));
  auto response = ini.respond(*challenge);
  ASSERT_TRUE(response) << response.error().message();
  EXPECT_TRUE(text::contains(*response, "CHAP_I"));
  EXPECT_TRUE(text::contains(*response, "CHAP_C"));
  EXPECT_EQ(ini.state(), ChapInitiator::State::awaiting_target);
  auto answer = tgt.on_response(*response);
  ASSERT_TRUE(answer) << answer.error().message();
  EXPECT_TRUE(tgt.mutual_requested());
  EXPECT_EQ(value_of(*answer, "CHAP_N"), kTargetName);
  EXPECT_FALSE(ini.verify_target(*answer));
  EXPECT_EQ(ini.state(), ChapInitiator::State::done);
}

INSTANTIATE_TEST_SUITE_P(All, ChapEveryAlgorithm,
                         ::testing::Values(ChapAlgorithm::md5, ChapAlgorithm::sha1,
                                           ChapAlgorithm::sha256, ChapAlgorithm::sha3_256),
                         [](const auto& p) {
                           std::string n(to_string(p.param));
                           return n == "SHA3-256" ? std::string("SHA3_256") : n;
                         });

TEST(ChapExchange, TargetPicksFirstOfInitiatorsPreferenceThatItAccepts) {
  ChapInitiator ini = make_initiator(false, {ChapAlgorithm::sha3_256, ChapAlgorithm::sha1,
                                             ChapAlgorithm::md5});
  ChapTarget tgt = make_target(false, {ChapAlgorithm::md5, ChapAlgorithm::sha1});
  auto challenge = tgt.on_algorithms(*ini.offer_algorithms());
  ASSERT_TRUE(challenge);
  EXPECT_EQ(value_of(*challenge, "CHAP_A"), "6");
}

TEST(ChapExchange, OfferListsPreferenceOrder) {
  ChapInitiator ini = make_initiator(false);
  auto offer = ini.offer_algorithms();
  ASSERT_TRUE(offer);
  EXPECT_EQ(*offer, (KeyValueList{{"CHAP_A", "8,7,6,5"}}));
}

// --- Known answer through the initiator, in hex and base64 ---

struct EncodedChallenge {
  const char* chap_i;
  const char* chap_c;
};

TEST(ChapInitiatorKat, AnswersHexAndBase64ChallengesWithHex) {
  // Python: hashlib.sha256(bytes([0x5a]) + b"abcdefghijkl" + bytes(range(0x10, 0x30)))
  const std::string expected = "0x334e495474d6f16024d8ac990280a5b2f9a722399643301ebc4eecf52089eaa0";
  for (const EncodedChallenge& e : {
           EncodedChallenge{"90", "0x101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f"},
           EncodedChallenge{"0x5a", "0X101112131415161718191A1B1C1D1E1F202122232425262728292A2B2C2D2E2F"},
           EncodedChallenge{"90", "0bEBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLi8="},
           EncodedChallenge{"0X5A", "0BEBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLi8="},
       }) {
    SCOPED_TRACE(e.chap_c);
    ChapInitiatorConfig c = initiator_config(false);
    c.local = {"user", Secret(std::string_view("abcdefghijkl"))};
    auto ini = ChapInitiator::create(std::move(c));
    ASSERT_TRUE(ini);
    ASSERT_TRUE(ini->offer_algorithms());
    auto r = ini->respond({{"CHAP_A", "7"}, {"CHAP_I", e.chap_i}, {"CHAP_C", e.chap_c},
                           {"TargetPortalGroupTag", "1"}});
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(*r, (KeyValueList{{"CHAP_N", "user"}, {"CHAP_R", expected}}));
  }
}

TEST(ChapInitiatorKat, MutualVerifiesTargetResponseInBase64) {
  // Our identifier and challenge come from the random source: id 0x80, challenge 0x81..0xa0.
  ChapInitiator ini = make_initiator(true, {ChapAlgorithm::md5});
  ASSERT_TRUE(ini.offer_algorithms());
  auto r = ini.respond({{"CHAP_A", "5"}, {"CHAP_I", "1"}, {"CHAP_C", std::string("0x") + std::string(64, 'e')}});
  ASSERT_TRUE(r);
  ByteVector our_challenge = from_hex(std::string(value_of(*r, "CHAP_C")).substr(2));
  EXPECT_EQ(value_of(*r, "CHAP_I"), "128");
  ASSERT_EQ(our_challenge.size(), kDefaultChallengeLength);
  EXPECT_EQ(our_challenge.front(), 0x81);
  auto answer = chap_response(ChapAlgorithm::md5, 0x80, Secret(kTargetSecret), our_challenge);
  ASSERT_TRUE(answer);
  EXPECT_FALSE(ini.verify_target({{"CHAP_N", std::string(kTargetName)},
                                  {"CHAP_R", encode_base64_value(*answer)}}));
}

// --- Initiator refusals ---

class InitiatorRefuses : public ::testing::Test {
 protected:
  std::error_code respond(KeyValueList keys, bool mutual = false,
                          ChapAlgorithmList algs = {ChapAlgorithm::sha256, ChapAlgorithm::md5}) {
    ini_.emplace(make_initiator(mutual, std::move(algs)));
    EXPECT_TRUE(ini_->offer_algorithms());
    auto r = ini_->respond(keys);
    if (r) return {};
    EXPECT_EQ(ini_->state(), ChapInitiator::State::failed);
    EXPECT_EQ(ini_->error(), r.error());
    return r.error();
  }
  static KeyValueList good(std::string a = "7", std::string i = "1",
                           std::string c = "0x" + std::string(32, 'c')) {
    return {{"CHAP_A", a}, {"CHAP_I", i}, {"CHAP_C", c}};
  }
  std::optional<ChapInitiator> ini_;
};

TEST_F(InitiatorRefuses, NothingWithGoodKeys) { EXPECT_FALSE(respond(good())); }

TEST_F(InitiatorRefuses, AlgorithmNotOffered) {
  EXPECT_EQ(respond(good("6")), Errc::algorithm_not_offered);   // SHA1, known but not offered
  EXPECT_EQ(respond(good("8")), Errc::algorithm_not_offered);
  EXPECT_EQ(respond(good("99")), Errc::algorithm_not_offered);  // unknown number
  EXPECT_EQ(respond(good("261")), Errc::algorithm_not_offered); // 5 + 256: no truncation
  EXPECT_EQ(respond(good("99999999999999999999999")), Errc::algorithm_not_offered);
}

TEST_F(InitiatorRefuses, AlgorithmRejected) {
  EXPECT_EQ(respond({{"CHAP_A", "Reject"}}), Errc::algorithm_rejected);
  EXPECT_EQ(respond(good("Reject")), Errc::algorithm_rejected);
  EXPECT_EQ(respond(good("NotUnderstood")), Errc::algorithm_rejected);
}

TEST_F(InitiatorRefuses, MalformedAlgorithm) {
  EXPECT_EQ(respond(good("7,5")), Errc::malformed_number);  // the target must pick one
  EXPECT_EQ(respond(good("")), Errc::malformed_number);
  EXPECT_EQ(respond(good("SHA256")), Errc::malformed_number);
}

TEST_F(InitiatorRefuses, IdentifierOutOfRange) {
  EXPECT_FALSE(respond(good("7", "0")));
  EXPECT_FALSE(respond(good("7", "255")));
  EXPECT_FALSE(respond(good("7", "0xff")));
  EXPECT_EQ(respond(good("7", "256")), Errc::identifier_out_of_range);
  EXPECT_EQ(respond(good("7", "0x100")), Errc::identifier_out_of_range);
  EXPECT_EQ(respond(good("7", "99999999999999999999999")), Errc::identifier_out_of_range);
}

TEST_F(InitiatorRefuses, MalformedIdentifier) {
  EXPECT_EQ(respond(good("7", "-1")), Errc::malformed_number);
  EXPECT_EQ(respond(good("7", "one")), Errc::malformed_number);
  EXPECT_EQ(respond(good("7", "01")), Errc::malformed_number);  // RFC 7143 6.1: no leading zeros
}

TEST_F(InitiatorRefuses, ChallengeTooShort) {
  EXPECT_FALSE(respond(good("7", "1", "0x" + std::string(32, 'a'))));  // 16 bytes: fine
  EXPECT_EQ(respond(good("7", "1", "0x" + std::string(30, 'a'))), Errc::challenge_too_short);
  EXPECT_EQ(respond(good("7", "1", "0bAQ==")), Errc::challenge_too_short);
}

TEST_F(InitiatorRefuses, ChallengeTooLong) {
  EXPECT_FALSE(respond(good("7", "1", "0x" + std::string(2048, 'a'))));  // 1024 bytes: fine
  EXPECT_EQ(respond(good("7", "1", "0x" + std::string(2050, 'a'))), Errc::challenge_too_long);
}

TEST_F(InitiatorRefuses, MalformedChallenge) {
  EXPECT_EQ(respond(good("7", "1", std::string(32, 'c'))), Errc::malformed_binary_value);
  EXPECT_EQ(respond(good("7", "1", "0x" + std::string(31, 'c') + "g")),
            Errc::malformed_binary_value);
}

TEST_F(InitiatorRefuses, MissingKeys) {
  EXPECT_EQ(respond({{"CHAP_A", "7"}, {"CHAP_I", "1"}}), Errc::missing_key);
  EXPECT_EQ(respond({{"CHAP_A", "7"}, {"CHAP_C", "0x" + std::string(32, 'c')}}), Errc::missing_key);
  EXPECT_EQ(respond({{"CHAP_I", "1"}, {"CHAP_C", "0x" + std::string(32, 'c')}}), Errc::missing_key);
  EXPECT_EQ(respond({}), Errc::missing_key);
}

TEST_F(InitiatorRefuses, DuplicateKey) {
  KeyValueList keys = good();
  keys.push_back({"CHAP_C", "0x" + std::string(32, 'd')});
  EXPECT_EQ(respond(keys), Errc::duplicate_key);
}

TEST_F(InitiatorRefuses, ResponseKeysInTheChallengeStep) {
  KeyValueList keys = good();
  keys.push_back({"CHAP_R", "0x" + std::string(64, 'd')});
  EXPECT_EQ(respond(keys), Errc::unexpected_key);
}

TEST_F(InitiatorRefuses, ReflectedChallenge) {
  // Our mutual challenge is drawn when the exchange is created; a target that sends the same
  // bytes back as its own challenge would get our secret's answer to it (RFC 7143 9.2.1).
  ChapInitiatorConfig c = initiator_config(true, {ChapAlgorithm::sha256});
  c.random = constant_source(0xab);
  auto ini = ChapInitiator::create(std::move(c));
  ASSERT_TRUE(ini);
  ASSERT_TRUE(ini->offer_algorithms());
  auto r = ini->respond(good("7", "1", encode_hex_value(ByteVector(kDefaultChallengeLength, 0xab))));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errc::challenge_reflected);
  // The same challenge in base64 is the same bytes.
  auto ini2 = [&] {
    ChapInitiatorConfig c2 = initiator_config(true, {ChapAlgorithm::sha256});
    c2.random = constant_source(0xab);
    return ChapInitiator::create(std::move(c2));
  }();
  ASSERT_TRUE(ini2);
  ASSERT_TRUE(ini2->offer_algorithms());
  auto r2 = ini2->respond(good("7", "1", encode_base64_value(ByteVector(kDefaultChallengeLength, 0xab))));
  EXPECT_EQ(r2.error(), Errc::challenge_reflected);
}

class InitiatorRefusesTarget : public ::testing::Test {
 protected:
  void SetUp() override {
    ini_.emplace(make_initiator(true, {ChapAlgorithm::sha256}));
    ASSERT_TRUE(ini_->offer_algorithms());
    auto r = ini_->respond({{"CHAP_A", "7"}, {"CHAP_I", "3"}, {"CHAP_C", "0x" + std::string(40, '5')}});
    ASSERT_TRUE(r);
    our_id_ = static_cast<std::uint8_t>(std::stoi(value_of(*r, "CHAP_I")));
    our_challenge_ = from_hex(value_of(*r, "CHAP_C").substr(2));
  }
  std::string right_response() {
    return encode_hex_value(
        *chap_response(ChapAlgorithm::sha256, our_id_, Secret(kTargetSecret), our_challenge_));
  }
  std::optional<ChapInitiator> ini_;
  std::uint8_t our_id_ = 0;
  ByteVector our_challenge_;
};

TEST_F(InitiatorRefusesTarget, NothingWhenRight) {
  EXPECT_FALSE(ini_->verify_target({{"CHAP_N", std::string(kTargetName)}, {"CHAP_R", right_response()}}));
}

TEST_F(InitiatorRefusesTarget, WrongName) {
  EXPECT_EQ(ini_->verify_target({{"CHAP_N", "iqn.2026-11.org.example:evil"}, {"CHAP_R", right_response()}}),
            Errc::wrong_target_name);
}

TEST_F(InitiatorRefusesTarget, WrongResponse) {
  std::string r = right_response();
  r.back() = r.back() == '0' ? '1' : '0';
  EXPECT_EQ(ini_->verify_target({{"CHAP_N", std::string(kTargetName)}, {"CHAP_R", r}}),
            Errc::target_authentication_failed);
  EXPECT_EQ(ini_->state(), ChapInitiator::State::failed);
}

TEST_F(InitiatorRefusesTarget, ResponseComputedWithOurOwnSecret) {
  auto mine = chap_response(ChapAlgorithm::sha256, our_id_, Secret(kInitiatorSecret), our_challenge_);
  EXPECT_EQ(ini_->verify_target({{"CHAP_N", std::string(kTargetName)}, {"CHAP_R", encode_hex_value(*mine)}}),
            Errc::target_authentication_failed);
}

TEST_F(InitiatorRefusesTarget, ResponseOfWrongLength) {
  EXPECT_EQ(ini_->verify_target({{"CHAP_N", std::string(kTargetName)}, {"CHAP_R", "0x" + std::string(32, '0')}}),
            Errc::response_wrong_length);
}

TEST_F(InitiatorRefusesTarget, ResponseMalformed) {
  EXPECT_EQ(ini_->verify_target({{"CHAP_N", std::string(kTargetName)}, {"CHAP_R", "zz"}}),
            Errc::malformed_binary_value);
}

TEST_F(InitiatorRefusesTarget, MissingResponse) {
  EXPECT_EQ(ini_->verify_target({}), Errc::missing_key);
}

TEST_F(InitiatorRefusesTarget, ChallengeKeysInTheFinalStep) {
  EXPECT_EQ(ini_->verify_target({{"CHAP_N", std::string(kTargetName)}, {"CHAP_R", right_response()},
                                 {"CHAP_C", "0x" + std::string(32, '1')}}),
            Errc::unexpected_key);
}

// --- Order and stickiness ---

TEST(ChapInitiatorOrder, RespondBeforeOfferIsOutOfOrderAndSticky) {
  ChapInitiator ini = make_initiator(false);
  auto r = ini.respond({{"CHAP_A", "7"}});
  EXPECT_EQ(r.error(), Errc::out_of_order);
  EXPECT_EQ(ini.state(), ChapInitiator::State::failed);
  EXPECT_EQ(ini.offer_algorithms().error(), Errc::out_of_order);
  EXPECT_EQ(ini.error(), Errc::out_of_order);
}

TEST(ChapInitiatorOrder, FirstErrorIsKept) {
  ChapInitiator ini = make_initiator(false);
  ASSERT_TRUE(ini.offer_algorithms());
  EXPECT_EQ(ini.respond({{"CHAP_A", "1"}, {"CHAP_I", "1"}, {"CHAP_C", "0x00"}}).error(),
            Errc::algorithm_not_offered);
  EXPECT_EQ(ini.respond({{"CHAP_A", "7"}}).error(), Errc::out_of_order);
  EXPECT_EQ(ini.error(), Errc::algorithm_not_offered);
}

TEST(ChapInitiatorOrder, VerifyTargetWithoutMutualIsOutOfOrder) {
  ChapInitiator ini = make_initiator(false);
  ASSERT_TRUE(ini.offer_algorithms());
  ASSERT_TRUE(ini.respond({{"CHAP_A", "7"}, {"CHAP_I", "1"}, {"CHAP_C", "0x" + std::string(32, 'c')}}));
  EXPECT_EQ(ini.verify_target({}), Errc::out_of_order);
}

TEST(ChapInitiatorOrder, OfferTwiceIsOutOfOrder) {
  ChapInitiator ini = make_initiator(false);
  ASSERT_TRUE(ini.offer_algorithms());
  EXPECT_EQ(ini.offer_algorithms().error(), Errc::out_of_order);
}

TEST(ChapStateNames, Print) {
  EXPECT_EQ(to_string(ChapInitiator::State::awaiting_target), "awaiting_target");
  EXPECT_EQ(to_string(ChapTarget::State::challenged), "challenged");
}

// --- Configuration ---

TEST(ChapInitiatorConfig, Refusals) {
  {
    auto c = initiator_config(true);
    c.target->secret = Secret(kInitiatorSecret);
    EXPECT_EQ(ChapInitiator::create(std::move(c)).error(), Errc::same_secret_both_directions);
  }
  {
    auto c = initiator_config(false);
    c.local.secret = Secret();
    EXPECT_EQ(ChapInitiator::create(std::move(c)).error(), Errc::invalid_config);
  }
  {
    auto c = initiator_config(false);
    c.local.name.clear();
    EXPECT_EQ(ChapInitiator::create(std::move(c)).error(), Errc::invalid_config);
  }
  {
    auto c = initiator_config(true);
    c.random = nullptr;
    EXPECT_EQ(ChapInitiator::create(std::move(c)).error(), Errc::invalid_config);
  }
  {
    auto c = initiator_config(false);
    c.random = nullptr;  // one-way CHAP draws nothing
    EXPECT_TRUE(ChapInitiator::create(std::move(c)));
  }
  {
    auto c = initiator_config(true);
    c.challenge_length = 15;
    EXPECT_EQ(ChapInitiator::create(std::move(c)).error(), Errc::invalid_config);
  }
  {
    auto c = initiator_config(false, {});
    EXPECT_EQ(ChapInitiator::create(std::move(c)).error(), Errc::empty_algorithm_list);
  }
  {
    auto c = initiator_config(false, {ChapAlgorithm::md5, ChapAlgorithm::md5});
    EXPECT_EQ(ChapInitiator::create(std::move(c)).error(), Errc::duplicate_algorithm);
  }
  {
    auto c = initiator_config(false, {static_cast<ChapAlgorithm>(4)});
    EXPECT_EQ(ChapInitiator::create(std::move(c)).error(), Errc::invalid_config);
  }
}

TEST(ChapTargetConfig, Refusals) {
  auto c = target_config(true);
  c.mutual->secret = Secret(kInitiatorSecret);
  EXPECT_EQ(ChapTarget::create(std::move(c)).error(), Errc::same_secret_both_directions);
  auto d = target_config(false);
  d.random = nullptr;
  EXPECT_EQ(ChapTarget::create(std::move(d)).error(), Errc::invalid_config);
}

// --- Target refusals ---

TEST(ChapTargetRefuses, NoCommonAlgorithm) {
  ChapTarget tgt = make_target(false, {ChapAlgorithm::sha3_256});
  EXPECT_EQ(tgt.on_algorithms({{"CHAP_A", "5,6,99"}}).error(), Errc::no_common_algorithm);
  EXPECT_EQ(tgt.state(), ChapTarget::State::failed);
}

TEST(ChapTargetRefuses, SkipsUnknownAndMalformedEntries) {
  ChapTarget tgt = make_target(false);
  auto r = tgt.on_algorithms({{"CHAP_A", "99,x,,5"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(value_of(*r, "CHAP_A"), "5");
}

TEST(ChapTargetRefuses, MissingAlgorithms) {
  ChapTarget tgt = make_target(false);
  EXPECT_EQ(tgt.on_algorithms({}).error(), Errc::missing_key);
}

struct TargetCase : ::testing::Test {
  void run(bool target_mutual, bool initiator_mutual) {
    ini.emplace(make_initiator(initiator_mutual, {ChapAlgorithm::sha1}));
    tgt.emplace(make_target(target_mutual));
    auto challenge = tgt->on_algorithms(*ini->offer_algorithms());
    ASSERT_TRUE(challenge);
    auto r = ini->respond(*challenge);
    ASSERT_TRUE(r);
    response = *r;
  }
  std::optional<ChapInitiator> ini;
  std::optional<ChapTarget> tgt;
  KeyValueList response;
};

TEST_F(TargetCase, UnknownInitiatorName) {
  run(false, false);
  text::set(response, "CHAP_N", "iqn.2026-11.org.example:other");
  EXPECT_EQ(tgt->on_response(response).error(), Errc::unknown_initiator_name);
}

TEST_F(TargetCase, WrongInitiatorResponse) {
  run(false, false);
  std::string r(*text::find_value(response, "CHAP_R"));
  r[2] = r[2] == 'f' ? 'e' : 'f';
  text::set(response, "CHAP_R", r);
  EXPECT_EQ(tgt->on_response(response).error(), Errc::initiator_authentication_failed);
}

TEST_F(TargetCase, MutualNotConfigured) {
  run(false, true);
  EXPECT_EQ(tgt->on_response(response).error(), Errc::mutual_not_configured);
}

TEST_F(TargetCase, InitiatorReflectsTargetChallenge) {
  run(true, true);
  text::set(response, "CHAP_C", encode_hex_value(tgt->challenge()));
  EXPECT_EQ(tgt->on_response(response).error(), Errc::challenge_reflected);
}

TEST_F(TargetCase, ChallengeWithoutIdentifier) {
  run(true, true);
  response.erase(response.begin() + 2);  // CHAP_I
  EXPECT_EQ(tgt->on_response(response).error(), Errc::missing_key);
}

TEST_F(TargetCase, OneWayTargetAnswersNothing) {
  run(true, false);
  auto r = tgt->on_response(response);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->empty());
  EXPECT_FALSE(tgt->mutual_requested());
}

}  // namespace
}  // namespace iscsi::auth
