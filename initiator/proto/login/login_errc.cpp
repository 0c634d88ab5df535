// Names and one-line descriptions of the login machine's error codes.
#include "proto/login/login_errc.hpp"

namespace iscsi::login {

const char* category_name(Errc) noexcept { return "iscsi.login"; }

std::string_view describe(Errc e) noexcept {
  switch (e) {
    case Errc::invalid_config: return "invalid login configuration";
    case Errc::chap_not_configured: return "AuthMethod CHAP offered but no CHAP credentials are configured";
    case Errc::mutual_chap_allows_none: return "mutual CHAP is configured but AuthMethod=None is also offered";
    case Errc::out_of_order: return "login step not valid in the current state";
    case Errc::wrong_itt: return "Login Response carries a different Initiator Task Tag";
    case Errc::wrong_isid: return "Login Response does not echo our ISID";
    case Errc::unsupported_version: return "Login Response Version-active is not a version we support";
    case Errc::version_changed: return "Version-max or Version-active changed during the login";
    case Errc::wrong_csg: return "Login Response CSG differs from the request's";
    case Errc::illegal_transit: return "target set T=1 although our request had T=0";
    case Errc::transit_with_continue: return "Login Response has both T and C set";
    case Errc::illegal_nsg: return "Login Response NSG is not a later stage that we requested";
    case Errc::stat_sn_mismatch: return "Login Response StatSN is not one more than the previous one";
    case Errc::wrong_tsih: return "Login Response TSIH differs from ours";
    case Errc::zero_tsih: return "final Login Response of a new session has TSIH 0";
    case Errc::unknown_status_class: return "Login Response Status-Class is not defined";
    case Errc::data_in_continuation_ack: return "target sent data while acknowledging our continued text";
    case Errc::offer_in_transit_response: return "target offered keys in a response with T=1";
    case Errc::auth_method_not_negotiated: return "target left the security stage without negotiating AuthMethod";
    case Errc::authentication_incomplete: return "target left the security stage before CHAP completed";
    case Errc::unexpected_auth_keys: return "target sent CHAP keys without AuthMethod=CHAP";
    case Errc::missing_target_address: return "redirect without TargetAddress";
    case Errc::too_many_exchanges: return "login did not finish within the allowed number of exchanges";
  }
  return "unknown login error";
}

}  // namespace iscsi::login
