// The operational keys of a leading login (see offer.hpp).
#include "net/offer.hpp"

#include <algorithm>

namespace iscsi::net {

namespace {

const char* yes_no(bool b) { return b ? "Yes" : "No"; }

}  // namespace

OperationalOffer operational_offer(const IscsiParamOptions& p, bool normal) {
  OperationalOffer out;
  text::KeyValueList& k = out.keys;
  k.push_back({"HeaderDigest", p.header_digest});
  k.push_back({"DataDigest", p.data_digest});
  k.push_back({"MaxRecvDataSegmentLength", std::to_string(p.max_recv_data_segment_length)});
  if (!normal) return out;
  const auto erl = std::min(p.error_recovery_level, kImplementedErrorRecoveryLevel);
  const auto max_connections = std::min(p.max_connections, kImplementedMaxConnections);
  if (erl != p.error_recovery_level) {
    out.capped.push_back("node.session.iscsi.ERL = " + std::to_string(p.error_recovery_level) +
                         " asks for more than this initiator implements: offering "
                         "ErrorRecoveryLevel=" + std::to_string(erl));
  }
  if (max_connections != p.max_connections) {
    out.capped.push_back("node.session.iscsi.MaxConnections = " +
                         std::to_string(p.max_connections) +
                         " asks for more than this initiator implements: offering "
                         "MaxConnections=" + std::to_string(max_connections));
  }
  k.push_back({"InitialR2T", yes_no(p.initial_r2t)});
  k.push_back({"ImmediateData", yes_no(p.immediate_data)});
  k.push_back({"MaxBurstLength", std::to_string(p.max_burst_length)});
  k.push_back({"FirstBurstLength", std::to_string(p.first_burst_length)});
  k.push_back({"DefaultTime2Wait", std::to_string(p.default_time2wait)});
  k.push_back({"DefaultTime2Retain", std::to_string(p.default_time2retain)});
  k.push_back({"MaxOutstandingR2T", std::to_string(p.max_outstanding_r2t)});
  k.push_back({"MaxConnections", std::to_string(max_connections)});
  k.push_back({"ErrorRecoveryLevel", std::to_string(erl)});
  // Offered although they are the defaults, as open-iscsi does: LIO proposes every key the
  // initiator left out, in a response that already has T=1 (seen with Linux 6.1).
  k.push_back({"DataPDUInOrder", "Yes"});
  k.push_back({"DataSequenceInOrder", "Yes"});
  return out;
}

}  // namespace iscsi::net
