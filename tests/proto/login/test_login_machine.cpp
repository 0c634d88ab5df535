// LoginMachine driven against the in-memory FakeTarget (fake_target.hpp) over the real PDU
// codec: logins without authentication, with one-way and mutual CHAP for every algorithm,
// discovery, redirects, every reject status, and targets that break the rules.
#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "fake_target.hpp"
#include "proto/login/login_machine.hpp"

namespace iscsi::login {
namespace {

using test::FakeTarget;
using test::FakeTargetConfig;
using test::run_login;
using text::KeyValueList;

constexpr const char* kInitiator = "iqn.2026-11.org.example:host0";
constexpr const char* kTarget = "iqn.2026-11.org.example:t0";
constexpr std::string_view kInitiatorSecret = "initiator-secret-16";
constexpr std::string_view kTargetSecret = "target-secret-0016";

auth::RandomSource counter(std::uint8_t start) {
  return [next = start](std::span<std::uint8_t> out) mutable {
    for (auto& b : out) b = next++;
  };
}

LoginConfig base_config() {
  LoginConfig c;
  c.initiator_name = kInitiator;
  c.target_name = kTarget;
  c.isid = pdu::Isid::random_format(0x123456, 1);
  c.cid = 0;
  c.itt = 0x10;
  c.cmd_sn = SerialNumber(7);
  return c;
}

auth::ChapInitiatorConfig initiator_chap(bool mutual, auth::ChapAlgorithmList algs) {
  auth::ChapInitiatorConfig c;
  c.algorithms = std::move(algs);
  c.local = {kInitiator, auth::Secret(kInitiatorSecret)};
  if (mutual) c.target = auth::ChapCredentials{kTarget, auth::Secret(kTargetSecret)};
  c.random = counter(0x80);
  return c;
}

auth::ChapTargetConfig target_chap(bool mutual) {
  auth::ChapTargetConfig c;
  c.initiator = {kInitiator, auth::Secret(kInitiatorSecret)};
  if (mutual) c.mutual = auth::ChapCredentials{kTarget, auth::Secret(kTargetSecret)};
  c.random = counter(0x20);
  return c;
}

LoginConfig chap_config(bool mutual, auth::ChapAlgorithmList algs = auth::default_chap_algorithms()) {
  LoginConfig c = base_config();
  c.auth_methods = {AuthMethod::chap};
  c.chap = initiator_chap(mutual, std::move(algs));
  return c;
}

FakeTargetConfig chap_target(bool mutual) {
  FakeTargetConfig t;
  t.auth_method = "CHAP";
  t.chap = target_chap(mutual);
  return t;
}

LoginMachine make(LoginConfig c) {
  auto m = LoginMachine::create(std::move(c));
  EXPECT_TRUE(m) << m.error().message();
  return std::move(m).value();
}

// By value: callers pass the temporary that run_login() returns.
LoggedIn logged_in(const LoginOutcome& o) {
  const auto* p = std::get_if<LoggedIn>(&o);
  EXPECT_TRUE(p) << to_string(o);
  return p ? *p : LoggedIn{};
}

std::error_code protocol_error(const LoginOutcome& o) {
  const auto* p = std::get_if<ProtocolError>(&o);
  EXPECT_TRUE(p) << to_string(o);
  return p ? p->error : std::error_code{};
}

// --- Logins that succeed ---

TEST(LoginMachine, NoAuthentication) {
  LoginMachine m = make(base_config());
  FakeTarget target(FakeTargetConfig{});
  std::vector<pdu::LoginRequest> requests;
  const LoginOutcome o = run_login(m, target, &requests);
  const LoggedIn done = logged_in(o);
  EXPECT_EQ(done.tsih, 0x0012);
  EXPECT_EQ(done.auth_method, AuthMethod::none);
  EXPECT_EQ(done.cmd_sn, SerialNumber(7));
  EXPECT_EQ(done.exp_cmd_sn, SerialNumber(7));
  EXPECT_EQ(done.exp_stat_sn, SerialNumber(0x1000 + 2));
  EXPECT_EQ(done.params.target_portal_group_tag, std::uint16_t{1});
  EXPECT_EQ(m.state(), LoginMachine::State::logged_in);
  EXPECT_EQ(to_string(o), "logged in (TSIH 0x0012)");
  EXPECT_TRUE(target.problems.empty()) << target.problems.front();

  ASSERT_EQ(requests.size(), 2u);
  // Security stage, straight to operational: T=1 NSG=1, the declarations and AuthMethod=None.
  const pdu::LoginRequest& first = requests[0];
  EXPECT_EQ(first.csg, pdu::Stage::security);
  EXPECT_TRUE(first.transit);
  EXPECT_EQ(first.nsg, pdu::Stage::operational);
  EXPECT_EQ(first.tsih, 0);
  EXPECT_EQ(first.itt, 0x10u);
  EXPECT_EQ(*text::decode(first.data),
            (KeyValueList{{"InitiatorName", kInitiator}, {"SessionType", "Normal"},
                          {"TargetName", kTarget}, {"AuthMethod", "None"}}));
  const pdu::LoginRequest& second = requests[1];
  EXPECT_EQ(second.csg, pdu::Stage::operational);
  EXPECT_TRUE(second.transit);
  EXPECT_EQ(second.nsg, pdu::Stage::full_feature);
  EXPECT_EQ(second.exp_stat_sn, SerialNumber(0x1001));
  EXPECT_EQ(second.cmd_sn, SerialNumber(7));
}

TEST(LoginMachine, NegotiatesOperationalKeys) {
  LoginConfig c = base_config();
  c.initiator_alias = "host0";
  c.operational_keys = {{"HeaderDigest", "CRC32C,None"},
                        {"DataDigest", "CRC32C,None"},
                        {"MaxRecvDataSegmentLength", "262144"},
                        {"MaxBurstLength", "16776192"},
                        {"FirstBurstLength", "262144"},
                        {"ImmediateData", "Yes"},
                        {"InitialR2T", "No"}};
  LoginMachine m = make(std::move(c));
  FakeTargetConfig t;
  t.operational_keys = {{"HeaderDigest", "None"},
                        {"DataDigest", "CRC32C"},
                        {"MaxRecvDataSegmentLength", "65536"},
                        {"MaxBurstLength", "1048576"},
                        {"ImmediateData", "Yes"},
                        {"InitialR2T", "Yes"},
                        {"TargetAlias", "lab-t0"}};
  FakeTarget target(std::move(t));
  const LoggedIn done = logged_in(run_login(m, target));
  EXPECT_EQ(done.params.header_digest, Digest::none);
  EXPECT_EQ(done.params.data_digest, Digest::crc32c);
  EXPECT_EQ(done.params.max_recv_data_segment_length, 262144u);
  EXPECT_EQ(done.params.max_send_data_segment_length, 65536u);
  EXPECT_EQ(done.params.max_burst_length, 1048576u);
  EXPECT_EQ(done.params.first_burst_length, 65536u);  // Minimum with the target's default
  EXPECT_TRUE(done.params.immediate_data);
  EXPECT_TRUE(done.params.initial_r2t);  // OR: the target said Yes
  EXPECT_EQ(done.params.target_alias, "lab-t0");
  EXPECT_TRUE(target.problems.empty()) << target.problems.front();
}

TEST(LoginMachine, TargetOffersKeysAndWeAnswerBeforeTransit) {
  // The target raises ErrorRecoveryLevel itself in its first operational response, so it
  // answers with T=0; we answer and ask to transit again.
  LoginMachine m = make(base_config());
  FakeTargetConfig t;
  t.operational_keys = {{"ErrorRecoveryLevel", "0"}, {"MaxRecvDataSegmentLength", "8192"}};
  FakeTarget target(std::move(t));
  std::vector<pdu::LoginRequest> requests;
  const LoggedIn done = logged_in(run_login(m, target, &requests));
  EXPECT_EQ(done.params.error_recovery_level, 0);
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(*text::decode(requests[2].data), (KeyValueList{{"ErrorRecoveryLevel", "0"}}));
  EXPECT_TRUE(target.problems.empty()) << target.problems.front();
}

TEST(LoginMachine, DiscoverySession) {
  LoginConfig c = base_config();
  c.session_type = SessionType::discovery;
  c.target_name.clear();
  c.operational_keys = {{"HeaderDigest", "None"}, {"InitialR2T", "Yes"},
                        {"MaxRecvDataSegmentLength", "32768"}};
  LoginMachine m = make(std::move(c));
  FakeTarget target(FakeTargetConfig{});
  std::vector<pdu::LoginRequest> requests;
  const LoggedIn done = logged_in(run_login(m, target, &requests));
  EXPECT_EQ(done.params.session_type, SessionType::discovery);
  const KeyValueList first = *text::decode(requests[0].data);
  EXPECT_EQ(text::find_value(first, "SessionType"), "Discovery");
  EXPECT_FALSE(text::contains(first, "TargetName"));
  // InitialR2T is irrelevant in a discovery session and not offered.
  const KeyValueList op = *text::decode(requests[1].data);
  EXPECT_FALSE(text::contains(op, "InitialR2T"));
  EXPECT_TRUE(text::contains(op, "HeaderDigest"));
  EXPECT_TRUE(target.problems.empty()) << target.problems.front();
}

TEST(LoginMachine, AddsConnectionToExistingSession) {
  LoginConfig c = base_config();
  c.tsih = 0x0012;
  c.cid = 1;
  c.exp_stat_sn = SerialNumber(99);
  c.operational_keys = {{"MaxBurstLength", "262144"}, {"HeaderDigest", "None"}};
  LoginMachine m = make(std::move(c));
  FakeTarget target(FakeTargetConfig{});
  std::vector<pdu::LoginRequest> requests;
  const LoggedIn done = logged_in(run_login(m, target, &requests));
  EXPECT_EQ(done.tsih, 0x0012);
  EXPECT_EQ(requests[0].exp_stat_sn, SerialNumber(99));
  EXPECT_EQ(requests[0].cid, 1);
  const KeyValueList first = *text::decode(requests[0].data);
  EXPECT_FALSE(text::contains(first, "SessionType"));  // leading connection only
  const KeyValueList op = *text::decode(requests[1].data);
  EXPECT_FALSE(text::contains(op, "MaxBurstLength"));  // leading only
  EXPECT_TRUE(text::contains(op, "HeaderDigest"));
}

class LoginChap : public ::testing::TestWithParam<auth::ChapAlgorithm> {};

TEST_P(LoginChap, OneWay) {
  LoginMachine m = make(chap_config(false, {GetParam()}));
  FakeTarget target(chap_target(false));
  std::vector<pdu::LoginRequest> requests;
  const LoggedIn done = logged_in(run_login(m, target, &requests));
  EXPECT_EQ(done.auth_method, AuthMethod::chap);
  EXPECT_EQ(done.chap_algorithm, GetParam());
  EXPECT_FALSE(done.target_authenticated);
  EXPECT_TRUE(target.problems.empty()) << target.problems.front();
  // AuthMethod, CHAP_A, CHAP_N/R (T=1), operational.
  ASSERT_EQ(requests.size(), 4u);
  EXPECT_FALSE(requests[0].transit);
  EXPECT_EQ(*text::decode(requests[1].data),
            (KeyValueList{{"CHAP_A", std::to_string(auth::chap_a_value(GetParam()))}}));
  EXPECT_TRUE(requests[2].transit);
  EXPECT_EQ(requests[2].nsg, pdu::Stage::operational);
}

TEST_P(LoginChap, Mutual) {
  LoginMachine m = make(chap_config(true, {GetParam()}));
  FakeTarget target(chap_target(true));
  const LoggedIn done = logged_in(run_login(m, target));
  EXPECT_EQ(done.chap_algorithm, GetParam());
  EXPECT_TRUE(done.target_authenticated);
  EXPECT_TRUE(target.problems.empty()) << target.problems.front();
}

INSTANTIATE_TEST_SUITE_P(All, LoginChap,
                         ::testing::Values(auth::ChapAlgorithm::md5, auth::ChapAlgorithm::sha1,
                                           auth::ChapAlgorithm::sha256,
                                           auth::ChapAlgorithm::sha3_256),
                         [](const auto& p) {
                           std::string n(auth::to_string(p.param));
                           return n == "SHA3-256" ? std::string("SHA3_256") : n;
                         });

TEST(LoginMachine, ChapOrNoneTargetPicksNone) {
  LoginConfig c = base_config();
  c.auth_methods = {AuthMethod::chap, AuthMethod::none};
  c.chap = initiator_chap(false, {auth::ChapAlgorithm::sha256});
  LoginMachine m = make(std::move(c));
  FakeTarget target(FakeTargetConfig{});  // AuthMethod "None"
  const LoggedIn done = logged_in(run_login(m, target));
  EXPECT_EQ(done.auth_method, AuthMethod::none);
}

TEST(LoginMachine, ChapWithWrongSecretIsAuthenticationFailure) {
  LoginConfig c = chap_config(false);
  c.chap->local.secret = auth::Secret(std::string_view("not-the-right-secret"));
  LoginMachine m = make(std::move(c));
  FakeTarget target(chap_target(false));
  const LoginOutcome o = run_login(m, target);
  const auto* r = std::get_if<Rejected>(&o);
  ASSERT_TRUE(r) << to_string(o);
  EXPECT_EQ(r->status, LoginStatus::from(LoginStatusCode::authentication_failure));
  EXPECT_FALSE(r->temporary());
  EXPECT_EQ(to_string(o), "authentication failure (0x0201)");
  EXPECT_EQ(target.chap_error, auth::Errc::initiator_authentication_failed);
  EXPECT_EQ(m.state(), LoginMachine::State::rejected);
}

TEST(LoginMachine, NoneOnlyAgainstChapTargetIsAuthenticationFailure) {
  LoginMachine m = make(base_config());
  FakeTarget target(chap_target(false));
  const LoginOutcome o = run_login(m, target);
  EXPECT_EQ(to_string(o), "authentication failure (0x0201)");
}

// --- Authentication attacks and failures ---

TEST(LoginMachine, MutualChapTargetWithWrongSecret) {
  LoginMachine m = make(chap_config(true));
  FakeTargetConfig t = chap_target(true);
  t.chap->mutual->secret = auth::Secret(std::string_view("an-impostor-secret"));
  FakeTarget target(std::move(t));
  EXPECT_EQ(protocol_error(run_login(m, target)), auth::Errc::target_authentication_failed);
  EXPECT_FALSE(target.logged_in);
}

TEST(LoginMachine, MutualChapTargetWithWrongName) {
  LoginMachine m = make(chap_config(true));
  FakeTargetConfig t = chap_target(true);
  t.chap->mutual->name = "iqn.2026-11.org.example:impostor";
  FakeTarget target(std::move(t));
  EXPECT_EQ(protocol_error(run_login(m, target)), auth::Errc::wrong_target_name);
}

TEST(LoginMachine, MutualChapTargetSkipsItsAnswer) {
  LoginMachine m = make(chap_config(true));
  FakeTarget target(chap_target(true));
  target.tamper_keys = [](KeyValueList& keys, const pdu::LoginRequest&) {
    std::erase_if(keys, [](const text::KeyValue& kv) { return kv.key == "CHAP_N" || kv.key == "CHAP_R"; });
  };
  EXPECT_EQ(protocol_error(run_login(m, target)), Errc::authentication_incomplete);
}

TEST(LoginMachine, TargetPicksAlgorithmWeDidNotOffer) {
  LoginMachine m = make(chap_config(false, {auth::ChapAlgorithm::sha256, auth::ChapAlgorithm::sha3_256}));
  FakeTarget target(chap_target(false));
  target.tamper_keys = [](KeyValueList& keys, const pdu::LoginRequest&) {
    if (text::contains(keys, "CHAP_A")) text::set(keys, "CHAP_A", "5");
  };
  const LoginOutcome o = run_login(m, target);
  EXPECT_EQ(protocol_error(o), auth::Errc::algorithm_not_offered);
  EXPECT_EQ(m.state(), LoginMachine::State::failed);
}

TEST(LoginMachine, TargetReflectsOurChallenge) {
  // Our mutual challenge is drawn from the injected source: here 32 bytes of 0xab. A target
  // that sends those bytes as its own challenge is refused before we answer it.
  LoginConfig c = chap_config(true, {auth::ChapAlgorithm::sha256});
  c.chap->random = [](std::span<std::uint8_t> out) {
    for (auto& b : out) b = 0xab;
  };
  LoginMachine m = make(std::move(c));
  FakeTarget target(chap_target(true));
  target.tamper_keys = [](KeyValueList& keys, const pdu::LoginRequest&) {
    if (text::contains(keys, "CHAP_C")) {
      text::set(keys, "CHAP_C", auth::encode_hex_value(ByteVector(auth::kDefaultChallengeLength, 0xab)));
    }
  };
  EXPECT_EQ(protocol_error(run_login(m, target)), auth::Errc::challenge_reflected);
}

TEST(LoginMachine, TargetSendsShortChallenge) {
  LoginMachine m = make(chap_config(false));
  FakeTarget target(chap_target(false));
  target.tamper_keys = [](KeyValueList& keys, const pdu::LoginRequest&) {
    if (text::contains(keys, "CHAP_C")) text::set(keys, "CHAP_C", "0x0102030405060708");
  };
  EXPECT_EQ(protocol_error(run_login(m, target)), auth::Errc::challenge_too_short);
}

TEST(LoginMachine, TargetAnswersAuthMethodWeDidNotOffer) {
  LoginMachine m = make(chap_config(false));
  FakeTarget target(chap_target(false));
  target.tamper_keys = [](KeyValueList& keys, const pdu::LoginRequest&) {
    if (text::contains(keys, "AuthMethod")) text::set(keys, "AuthMethod", "None");
  };
  EXPECT_EQ(protocol_error(run_login(m, target)), NegotiationErrc::response_not_offered);
}

TEST(LoginMachine, ChapKeysWithoutChap) {
  LoginMachine m = make(base_config());
  FakeTarget target(FakeTargetConfig{});
  target.tamper_keys = [](KeyValueList& keys, const pdu::LoginRequest& req) {
    if (req.csg == pdu::Stage::security) keys.push_back({"CHAP_A", "5"});
  };
  EXPECT_EQ(protocol_error(run_login(m, target)), Errc::unexpected_auth_keys);
}

TEST(LoginMachine, TargetTransitsBeforeChapIsDone) {
  // After AuthMethod=CHAP, the target jumps to the operational stage on the next response
  // (our CHAP_A request had T=0, so T=1 is already illegal).
  LoginMachine m = make(chap_config(false));
  FakeTarget target(chap_target(false));
  target.tamper = [](pdu::LoginResponse& rsp, const pdu::LoginRequest& req) {
    if (text::contains(*text::decode(req.data), "CHAP_A")) {
      rsp.transit = true;
      rsp.nsg = pdu::Stage::operational;
    }
  };
  EXPECT_EQ(protocol_error(run_login(m, target)), Errc::illegal_transit);
}

// --- Redirects and rejects ---

TEST(LoginMachine, RedirectTemporary) {
  LoginMachine m = make(base_config());
  FakeTargetConfig t;
  t.redirect_with = LoginStatus::from(LoginStatusCode::target_moved_temporarily);
  t.redirect_address = "192.0.2.7:3261";
  FakeTarget target(std::move(t));
  const LoginOutcome o = run_login(m, target);
  const auto* r = std::get_if<Redirected>(&o);
  ASSERT_TRUE(r) << to_string(o);
  EXPECT_FALSE(r->permanent());
  EXPECT_EQ(r->address.host, "192.0.2.7");
  EXPECT_EQ(r->address.port, 3261);
  EXPECT_EQ(r->address.kind, text::HostKind::ipv4);
  EXPECT_EQ(m.state(), LoginMachine::State::redirected);
  EXPECT_EQ(to_string(o).rfind("target moved temporarily (0x0101) to 192.0.2.7:3261", 0), 0u)
      << to_string(o);
}

TEST(LoginMachine, RedirectPermanentToIpv6DefaultPort) {
  LoginMachine m = make(base_config());
  FakeTargetConfig t;
  t.redirect_with = LoginStatus::from(LoginStatusCode::target_moved_permanently);
  t.redirect_address = "[2001:db8::5]";
  FakeTarget target(std::move(t));
  const LoginOutcome o = run_login(m, target);
  const auto* r = std::get_if<Redirected>(&o);
  ASSERT_TRUE(r) << to_string(o);
  EXPECT_TRUE(r->permanent());
  EXPECT_EQ(r->address.host, "2001:db8::5");
  EXPECT_EQ(r->address.port, 3260);
}

TEST(LoginMachine, RedirectWithoutAddress) {
  LoginMachine m = make(base_config());
  FakeTargetConfig t;
  t.redirect_with = LoginStatus::from(LoginStatusCode::target_moved_temporarily);
  FakeTarget target(std::move(t));
  target.tamper = [](pdu::LoginResponse& rsp, const pdu::LoginRequest&) { rsp.data.clear(); };
  EXPECT_EQ(protocol_error(run_login(m, target)), Errc::missing_target_address);
}

TEST(LoginMachine, RedirectWithBadAddress) {
  LoginMachine m = make(base_config());
  FakeTargetConfig t;
  t.redirect_with = LoginStatus::from(LoginStatusCode::target_moved_temporarily);
  t.redirect_address = "192.0.2.7:99999";
  FakeTarget target(std::move(t));
  const std::error_code ec = protocol_error(run_login(m, target));
  EXPECT_EQ(ec.category().name(), std::string("iscsi.text"));
}

class LoginRejects : public ::testing::TestWithParam<LoginStatusCode> {};

TEST_P(LoginRejects, EveryStatusIsReportedWithItsName) {
  LoginMachine m = make(base_config());
  FakeTargetConfig t;
  t.reject_with = LoginStatus::from(GetParam());
  FakeTarget target(std::move(t));
  const LoginOutcome o = run_login(m, target);
  const auto* r = std::get_if<Rejected>(&o);
  ASSERT_TRUE(r) << to_string(o);
  EXPECT_EQ(r->status, LoginStatus::from(GetParam()));
  EXPECT_EQ(r->temporary(), (static_cast<unsigned>(GetParam()) >> 8) == 3);
  // Every word list starts with the status; 0x0206 on a new session says more (next tests).
  EXPECT_TRUE(to_string(o).starts_with(to_string(GetParam()))) << to_string(o);
  EXPECT_EQ(r->session_limit(), GetParam() == LoginStatusCode::too_many_connections);
  EXPECT_EQ(m.state(), LoginMachine::State::rejected);
}

TEST(LoginMachine, TooManyConnectionsOnALeadingLoginIsTheSingleSessionGuard) {
  LoginMachine m = make(base_config());  // TSIH 0: a new session
  FakeTargetConfig t;
  t.reject_with = LoginStatus::from(LoginStatusCode::too_many_connections);
  FakeTarget target(std::move(t));
  const LoginOutcome o = run_login(m, target);
  const auto* r = std::get_if<Rejected>(&o);
  ASSERT_TRUE(r) << to_string(o);
  EXPECT_TRUE(r->leading);
  EXPECT_TRUE(r->session_limit());
  EXPECT_FALSE(r->temporary());
  EXPECT_EQ(to_string(o), "too many connections (0x0206) on a new session: the target portal "
                          "group already has a session (single-session guard against split-brain)");
}

TEST(LoginMachine, TooManyConnectionsWhenAddingAConnectionIsMaxConnections) {
  LoginConfig c = base_config();
  c.tsih = 0x0012;  // adds a connection to session 0x0012
  LoginMachine m = make(std::move(c));
  FakeTargetConfig t;
  t.reject_with = LoginStatus::from(LoginStatusCode::too_many_connections);
  FakeTarget target(std::move(t));
  const LoginOutcome o = run_login(m, target);
  const auto* r = std::get_if<Rejected>(&o);
  ASSERT_TRUE(r) << to_string(o);
  EXPECT_FALSE(r->leading);
  EXPECT_FALSE(r->session_limit());
  EXPECT_EQ(to_string(o), "too many connections (0x0206)");
}

INSTANTIATE_TEST_SUITE_P(
    All, LoginRejects,
    ::testing::Values(LoginStatusCode::initiator_error, LoginStatusCode::authentication_failure,
                      LoginStatusCode::authorization_failure, LoginStatusCode::not_found,
                      LoginStatusCode::target_removed, LoginStatusCode::unsupported_version,
                      LoginStatusCode::too_many_connections, LoginStatusCode::missing_parameter,
                      LoginStatusCode::cant_include_in_session,
                      LoginStatusCode::session_type_not_supported,
                      LoginStatusCode::session_does_not_exist,
                      LoginStatusCode::invalid_during_login, LoginStatusCode::target_error,
                      LoginStatusCode::service_unavailable, LoginStatusCode::out_of_resources),
    [](const auto& p) { return "x" + std::to_string(static_cast<unsigned>(p.param)); });

TEST(LoginMachine, RejectInOperationalStage) {
  LoginMachine m = make(base_config());
  FakeTarget target(FakeTargetConfig{});
  target.tamper = [](pdu::LoginResponse& rsp, const pdu::LoginRequest& req) {
    if (req.csg == pdu::Stage::operational) {
      rsp.status_class = pdu::LoginStatusClass::target_error;
      rsp.status_detail = 0x02;
      rsp.transit = false;
    }
  };
  const LoginOutcome o = run_login(m, target);
  ASSERT_TRUE(std::holds_alternative<Rejected>(o)) << to_string(o);
  EXPECT_TRUE(std::get<Rejected>(o).temporary());
  EXPECT_EQ(to_string(o), "out of resources (0x0302)");
}

TEST(LoginMachine, UnknownStatusClass) {
  LoginMachine m = make(base_config());
  FakeTarget target(FakeTargetConfig{});
  target.tamper = [](pdu::LoginResponse& rsp, const pdu::LoginRequest&) {
    rsp.status_class = static_cast<pdu::LoginStatusClass>(7);
  };
  EXPECT_EQ(protocol_error(run_login(m, target)), Errc::unknown_status_class);
}

// --- Header rules ---

TEST(LoginMachine, WrongVersion) {
  LoginMachine m = make(base_config());
  FakeTarget target(FakeTargetConfig{});
  target.tamper = [](pdu::LoginResponse& rsp, const pdu::LoginRequest&) { rsp.version_active = 1; };
  EXPECT_EQ(protocol_error(run_login(m, target)), Errc::unsupported_version);
}

TEST(LoginMachine, VersionMaxChangesMidLogin) {
  LoginMachine m = make(base_config());
  FakeTarget target(FakeTargetConfig{});
  target.tamper = [n = 0](pdu::LoginResponse& rsp, const pdu::LoginRequest&) mutable {
    if (n++ == 1) rsp.version_max = 2;
  };
  EXPECT_EQ(protocol_error(run_login(m, target)), Errc::version_changed);
}

TEST(LoginMachine, WrongItt) {
  LoginMachine m = make(base_config());
  FakeTarget target(FakeTargetConfig{});
  target.tamper = [](pdu::LoginResponse& rsp, const pdu::LoginRequest&) { rsp.itt = 0x11; };
  const LoginOutcome o = run_login(m, target);
  EXPECT_EQ(protocol_error(o), Errc::wrong_itt);
  EXPECT_EQ(std::get<ProtocolError>(o).conn_error, ConnError::bad_itt);
  EXPECT_NE(std::get<ProtocolError>(o).detail.find("0x00000011"), std::string::npos);
}

TEST(LoginMachine, WrongIsid) {
  LoginMachine m = make(base_config());
  FakeTarget target(FakeTargetConfig{});
  target.tamper = [](pdu::LoginResponse& rsp, const pdu::LoginRequest&) { rsp.isid.d = 99; };
  EXPECT_EQ(protocol_error(run_login(m, target)), Errc::wrong_isid);
}

TEST(LoginMachine, RefusalWithZeroedIsidStillReadsAsItsStatus) {
  // tgt 1.0.85 zeroes the ISID in failure responses: the user must still read the status.
  LoginMachine m = make(base_config());
  FakeTarget target(FakeTargetConfig{});
  target.tamper = [](pdu::LoginResponse& rsp, const pdu::LoginRequest&) {
    rsp.status_class = pdu::LoginStatusClass::initiator_error;
    rsp.status_detail = 0x01;
    rsp.isid = pdu::Isid{};
  };
  const auto outcome = run_login(m, target);
  ASSERT_TRUE(std::holds_alternative<Rejected>(outcome));
  EXPECT_EQ(to_string(std::get<Rejected>(outcome).status), "authentication failure (0x0201)");
}

TEST(LoginMachine, TransitToStageWeDidNotAskFor) {
  // We ask for operational; the target jumps to full feature from the security stage.
  LoginMachine m = make(base_config());
  FakeTarget target(FakeTargetConfig{});
  target.tamper = [](pdu::LoginResponse& rsp, const pdu::LoginRequest& req) {
    if (req.csg == pdu::Stage::security) rsp.nsg = pdu::Stage::full_feature;
  };
  EXPECT_EQ(protocol_error(run_login(m, target)), Errc::illegal_nsg);
}

TEST(LoginMachine, TransitToTheSameStage) {
  LoginMachine m = make(base_config());
  FakeTarget target(FakeTargetConfig{});
  target.tamper = [](pdu::LoginResponse& rsp, const pdu::LoginRequest& req) {
    if (req.csg == pdu::Stage::security) rsp.nsg = pdu::Stage::security;
  };
  EXPECT_EQ(protocol_error(run_login(m, target)), Errc::illegal_nsg);
}

TEST(LoginMachine, TransitWithContinue) {
  // Our codec refuses to decode T=1 with C=1, so this response is handed to the machine
  // directly, as a more lenient decoder might.
  LoginMachine m = make(base_config());
  auto first = m.start();
  ASSERT_TRUE(first);
  pdu::LoginResponse rsp;
  rsp.itt = first->itt;
  rsp.isid = first->isid;
  rsp.transit = true;
  rsp.cont = true;
  rsp.nsg = pdu::Stage::operational;
  EXPECT_EQ(m.receive(rsp).error(), Errc::transit_with_continue);
  EXPECT_EQ(m.state(), LoginMachine::State::failed);
}

TEST(LoginMachine, WrongCsg) {
  LoginMachine m = make(base_config());
  FakeTarget target(FakeTargetConfig{});
  target.tamper = [](pdu::LoginResponse& rsp, const pdu::LoginRequest&) {
    rsp.csg = pdu::Stage::operational;
    rsp.nsg = pdu::Stage::full_feature;
  };
  EXPECT_EQ(protocol_error(run_login(m, target)), Errc::wrong_csg);
}

TEST(LoginMachine, StatSnDoesNotCount) {
  LoginMachine m = make(base_config());
  FakeTarget target(FakeTargetConfig{});
  target.tamper = [](pdu::LoginResponse& rsp, const pdu::LoginRequest& req) {
    if (req.csg == pdu::Stage::operational) rsp.stat_sn += 5;
  };
  EXPECT_EQ(protocol_error(run_login(m, target)), Errc::stat_sn_mismatch);
}

TEST(LoginMachine, FinalResponseWithoutTsih) {
  LoginMachine m = make(base_config());
  FakeTarget target(FakeTargetConfig{});
  target.tamper = [](pdu::LoginResponse& rsp, const pdu::LoginRequest&) { rsp.tsih = 0; };
  EXPECT_EQ(protocol_error(run_login(m, target)), Errc::zero_tsih);
}

TEST(LoginMachine, TsihBeforeFinalResponse) {
  LoginMachine m = make(base_config());
  FakeTarget target(FakeTargetConfig{});
  target.tamper = [](pdu::LoginResponse& rsp, const pdu::LoginRequest& req) {
    if (req.csg == pdu::Stage::security) rsp.tsih = 0x0005;
  };
  EXPECT_EQ(protocol_error(run_login(m, target)), Errc::wrong_tsih);
}

TEST(LoginMachine, NewTsihWhenAddingAConnection) {
  LoginConfig c = base_config();
  c.tsih = 0x0012;
  LoginMachine m = make(std::move(c));
  FakeTarget target(FakeTargetConfig{});
  target.tamper = [](pdu::LoginResponse& rsp, const pdu::LoginRequest&) {
    if (rsp.transit && rsp.nsg == pdu::Stage::full_feature) rsp.tsih = 0x0013;
  };
  EXPECT_EQ(protocol_error(run_login(m, target)), Errc::wrong_tsih);
}

TEST(LoginMachine, OfferInFinalResponse) {
  LoginMachine m = make(base_config());
  FakeTargetConfig t;
  t.extra_operational_keys = {{"X-com.example.tuning", "fast"}};
  FakeTarget target(std::move(t));
  EXPECT_EQ(protocol_error(run_login(m, target)), Errc::offer_in_transit_response);
}

TEST(LoginMachine, TargetThatNeverFinishes) {
  LoginConfig c = base_config();
  c.max_exchanges = 10;
  LoginMachine m = make(std::move(c));
  FakeTarget target(FakeTargetConfig{});
  target.tamper = [](pdu::LoginResponse& rsp, const pdu::LoginRequest&) {
    rsp.transit = false;
    rsp.nsg = pdu::Stage::security;
  };
  EXPECT_EQ(protocol_error(run_login(m, target)), Errc::too_many_exchanges);
  EXPECT_EQ(m.exchanges(), 10u);
}

TEST(LoginMachine, MalformedTargetText) {
  LoginMachine m = make(base_config());
  FakeTarget target(FakeTargetConfig{});
  target.tamper = [](pdu::LoginResponse& rsp, const pdu::LoginRequest&) {
    const char bad[] = "AuthMethod";  // no '=' and no NUL
    rsp.data.assign(bad, bad + sizeof bad - 1);
  };
  EXPECT_EQ(protocol_error(run_login(m, target)).category().name(), std::string("iscsi.text"));
}

// --- Text continuation ---

TEST(LoginMachine, TargetSplitsItsTextWithCBit) {
  LoginMachine m = make(chap_config(true, {auth::ChapAlgorithm::sha3_256}));
  FakeTargetConfig t = chap_target(true);
  t.max_segment_length = 16;
  t.operational_keys = {{"MaxRecvDataSegmentLength", "65536"}, {"TargetAlias", "a-rather-long-target-alias"}};
  FakeTarget target(std::move(t));
  std::vector<pdu::LoginRequest> requests;
  const LoggedIn done = logged_in(run_login(m, target, &requests));
  EXPECT_TRUE(done.target_authenticated);
  EXPECT_EQ(done.params.max_send_data_segment_length, 65536u);
  EXPECT_EQ(done.params.target_alias, "a-rather-long-target-alias");
  EXPECT_GT(requests.size(), 15u);
  EXPECT_TRUE(target.problems.empty()) << target.problems.front();
}

TEST(LoginMachine, WeSplitOurTextWithCBit) {
  LoginConfig c = chap_config(true, {auth::ChapAlgorithm::sha256});
  c.max_segment_length = 24;
  c.initiator_alias = "an-alias-long-enough-to-need-several-pieces";
  c.operational_keys = {{"MaxRecvDataSegmentLength", "262144"}, {"HeaderDigest", "CRC32C,None"}};
  LoginMachine m = make(std::move(c));
  FakeTarget target(chap_target(true));
  std::vector<pdu::LoginRequest> requests;
  const LoggedIn done = logged_in(run_login(m, target, &requests));
  EXPECT_TRUE(done.target_authenticated);
  for (const auto& r : requests) {
    EXPECT_LE(r.data.size(), 24u);
    if (r.cont) {
      EXPECT_FALSE(r.transit);
    }
  }
  EXPECT_TRUE(target.problems.empty()) << target.problems.front();
}

TEST(LoginMachine, EverySegmentSizeBothWays) {
  // The grind of this machine: mutual CHAP with the text cut into pieces of every size from 1
  // to 40 bytes, by the target and by us, must give the same login.
  for (std::size_t size = 1; size <= 40; ++size) {
    SCOPED_TRACE(size);
    LoginConfig c = chap_config(true, {auth::ChapAlgorithm::sha256});
    c.max_segment_length = size;
    c.max_exchanges = 4096;
    c.operational_keys = {{"MaxRecvDataSegmentLength", "262144"}, {"HeaderDigest", "CRC32C,None"}};
    LoginMachine m = make(std::move(c));
    FakeTargetConfig t = chap_target(true);
    t.max_segment_length = 41 - size;
    t.operational_keys = {{"MaxRecvDataSegmentLength", "65536"}, {"HeaderDigest", "CRC32C"}};
    FakeTarget target(std::move(t));
    const LoggedIn done = logged_in(run_login(m, target, nullptr, 5000));
    EXPECT_GE(m.exchanges(), 400 / (size + 1));  // the pieces really were small
    EXPECT_TRUE(done.target_authenticated);
    EXPECT_EQ(done.params.header_digest, Digest::crc32c);
    EXPECT_EQ(done.params.max_send_data_segment_length, 65536u);
    EXPECT_TRUE(target.problems.empty()) << target.problems.front();
  }
}

TEST(LoginMachine, DataInAckOfOurContinuation) {
  LoginConfig c = base_config();
  c.max_segment_length = 16;
  LoginMachine m = make(std::move(c));
  FakeTarget target(FakeTargetConfig{});
  target.tamper = [](pdu::LoginResponse& rsp, const pdu::LoginRequest& req) {
    if (req.cont) {
      const char junk[] = "X-a=b";
      rsp.data.assign(junk, junk + sizeof junk);
    }
  };
  EXPECT_EQ(protocol_error(run_login(m, target)), Errc::data_in_continuation_ack);
}

// --- Use ---

TEST(LoginMachine, ReceiveBeforeStartIsOutOfOrderAndSticky) {
  LoginMachine m = make(base_config());
  pdu::LoginResponse rsp;
  EXPECT_EQ(m.receive(rsp).error(), Errc::out_of_order);
  EXPECT_EQ(m.state(), LoginMachine::State::failed);
  EXPECT_EQ(m.start().error(), Errc::out_of_order);
  EXPECT_EQ(m.error(), Errc::out_of_order);
  ASSERT_TRUE(m.outcome());
  EXPECT_TRUE(std::holds_alternative<ProtocolError>(*m.outcome()));
}

TEST(LoginMachine, StartTwice) {
  LoginMachine m = make(base_config());
  ASSERT_TRUE(m.start());
  EXPECT_EQ(m.start().error(), Errc::out_of_order);
}

TEST(LoginMachine, ResponseAfterLoginIsOutOfOrder) {
  LoginMachine m = make(base_config());
  FakeTarget target(FakeTargetConfig{});
  ASSERT_TRUE(std::holds_alternative<LoggedIn>(run_login(m, target)));
  pdu::LoginResponse extra;
  extra.itt = 0x10;
  EXPECT_EQ(m.receive(extra).error(), Errc::out_of_order);
  EXPECT_EQ(m.state(), LoginMachine::State::failed);
}

TEST(LoginMachine, ErrorsAreSticky) {
  LoginMachine m = make(base_config());
  auto first = m.start();
  ASSERT_TRUE(first);
  pdu::LoginResponse bad;
  bad.itt = 0x99;
  EXPECT_EQ(m.receive(bad).error(), Errc::wrong_itt);
  pdu::LoginResponse good;
  good.itt = 0x10;
  good.isid = first->isid;
  EXPECT_EQ(m.receive(good).error(), Errc::wrong_itt);
}

TEST(LoginMachineConfig, Refusals) {
  {
    LoginConfig c = base_config();
    c.initiator_name.clear();
    EXPECT_EQ(LoginMachine::create(std::move(c)).error(), Errc::invalid_config);
  }
  {
    LoginConfig c = base_config();
    c.target_name.clear();
    EXPECT_EQ(LoginMachine::create(std::move(c)).error(), Errc::invalid_config);
  }
  {
    LoginConfig c = base_config();
    c.auth_methods = {AuthMethod::chap};
    EXPECT_EQ(LoginMachine::create(std::move(c)).error(), Errc::chap_not_configured);
  }
  {
    LoginConfig c = chap_config(true);
    c.auth_methods = {AuthMethod::chap, AuthMethod::none};
    EXPECT_EQ(LoginMachine::create(std::move(c)).error(), Errc::mutual_chap_allows_none);
  }
  {
    LoginConfig c = chap_config(true);
    c.chap->target->secret = auth::Secret(kInitiatorSecret);
    EXPECT_EQ(LoginMachine::create(std::move(c)).error(), auth::Errc::same_secret_both_directions);
  }
  {
    LoginConfig c = base_config();
    c.initiator_name = "not an iscsi name";
    EXPECT_EQ(LoginMachine::create(std::move(c)).error(), NegotiationErrc::invalid_value);
  }
  {
    LoginConfig c = base_config();
    c.operational_keys = {{"MaxBurstLength", "12"}};
    EXPECT_TRUE(LoginMachine::create(std::move(c)).error());
  }
  {
    LoginConfig c = base_config();
    c.operational_keys = {{"NoSuchKey", "1"}};
    EXPECT_EQ(LoginMachine::create(std::move(c)).error(), NegotiationErrc::unknown_key);
  }
  {
    LoginConfig c = base_config();
    c.itt = pdu::kReservedTag;
    EXPECT_EQ(LoginMachine::create(std::move(c)).error(), Errc::invalid_config);
  }
  {
    LoginConfig c = base_config();
    c.max_segment_length = 8193;
    EXPECT_EQ(LoginMachine::create(std::move(c)).error(), Errc::invalid_config);
  }
}

TEST(LoginMachineNames, StatesAndErrors) {
  EXPECT_EQ(to_string(LoginMachine::State::operational), "operational");
  EXPECT_EQ(to_string(AuthMethod::chap), "CHAP");
  std::error_code ec = Errc::illegal_nsg;
  EXPECT_STREQ(ec.category().name(), "iscsi.login");
  for (int v = 1; v <= static_cast<int>(Errc::too_many_exchanges); ++v) {
    EXPECT_NE(describe(static_cast<Errc>(v)), "unknown login error") << v;
  }
}

}  // namespace
}  // namespace iscsi::login
