// libFuzzer target: ChapInitiator (and ChapTarget) fed arbitrary peer keys.
//
// Input: byte 0 picks the configuration (bit 0 mutual, bits 1-4 which algorithms we offer);
// the rest is split at the first 0xff byte into two texts, "key=value\0..." each: the target's
// challenge step (given to respond()) and its final step (given to verify_target()). The same
// texts are played to a ChapTarget as if they came from an initiator. Values may hold any bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "proto/auth/chap_initiator.hpp"
#include "proto/auth/chap_target.hpp"

namespace {

using iscsi::text::KeyValueList;

// Lenient split (no validation), so every byte reaches the CHAP code rather than the text codec.
KeyValueList split_pairs(std::string_view text) {
  KeyValueList out;
  while (!text.empty()) {
    const std::size_t nul = text.find('\0');
    const std::string_view pair = text.substr(0, nul);
    const std::size_t eq = pair.find('=');
    if (eq == std::string_view::npos) {
      out.push_back({std::string(pair), std::string()});
    } else {
      out.push_back({std::string(pair.substr(0, eq)), std::string(pair.substr(eq + 1))});
    }
    if (nul == std::string_view::npos) break;
    text.remove_prefix(nul + 1);
  }
  return out;
}

void fill(std::span<std::uint8_t> out) {
  std::uint8_t v = 0x42;
  for (auto& b : out) b = v++;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace iscsi::auth;
  if (size == 0) return 0;
  const std::uint8_t flags = data[0];
  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::size_t cut = rest.find('\xff');
  const KeyValueList first = split_pairs(rest.substr(0, cut));
  const KeyValueList second =
      cut == std::string_view::npos ? KeyValueList{} : split_pairs(rest.substr(cut + 1));

  ChapAlgorithmList algs;
  const ChapAlgorithm all[] = {ChapAlgorithm::md5, ChapAlgorithm::sha1, ChapAlgorithm::sha256,
                               ChapAlgorithm::sha3_256};
  for (unsigned i = 0; i < 4; ++i) {
    if (flags & (2u << i)) algs.push_back(all[i]);
  }
  if (algs.empty()) algs.push_back(ChapAlgorithm::md5);
  const bool mutual = (flags & 1u) != 0;

  ChapInitiatorConfig ic;
  ic.algorithms = algs;
  ic.local = {"iqn.2026-11.org.example:host0", Secret(std::string_view("initiator-secret"))};
  if (mutual) ic.target = ChapCredentials{"iqn.2026-11.org.example:t0", Secret(std::string_view("target-secret!"))};
  ic.random = fill;
  if (auto ini = ChapInitiator::create(std::move(ic))) {
    (void)ini->offer_algorithms();
    auto response = ini->respond(first);
    if (response && mutual) (void)ini->verify_target(second);
    // Anything after completion or failure must be refused, not crash.
    (void)ini->respond(second);
  }

  ChapTargetConfig tc;
  tc.algorithms = algs;
  tc.initiator = {"iqn.2026-11.org.example:host0", Secret(std::string_view("initiator-secret"))};
  if (mutual) tc.mutual = ChapCredentials{"iqn.2026-11.org.example:t0", Secret(std::string_view("target-secret!"))};
  tc.random = fill;
  if (auto tgt = ChapTarget::create(std::move(tc))) {
    if (tgt->on_algorithms(first)) (void)tgt->on_response(second);
  }
  return 0;
}
