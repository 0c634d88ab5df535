// The unit of iSCSI text (RFC 7143 section 6): an ordered list of key=value pairs, as carried in
// Login and Text data segments. Order matters (a responder answers in the order it was offered,
// SendTargets repeats TargetName/TargetAddress groups), so this is a vector, not a map.
// Codec, limits and value-type parsers live in text/codec.hpp and text/values.hpp.
#pragma once

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace iscsi::text {

struct KeyValue {
  std::string key;
  std::string value;

  friend bool operator==(const KeyValue&, const KeyValue&) = default;
};

using KeyValueList = std::vector<KeyValue>;

// First pair whose key equals `key` (case-sensitive, as RFC 7143 keys are), or nullptr.
inline const KeyValue* find(const KeyValueList& list, std::string_view key) noexcept {
  auto it = std::find_if(list.begin(), list.end(), [&](const KeyValue& kv) { return kv.key == key; });
  return it == list.end() ? nullptr : &*it;
}
inline KeyValue* find(KeyValueList& list, std::string_view key) noexcept {
  auto it = std::find_if(list.begin(), list.end(), [&](const KeyValue& kv) { return kv.key == key; });
  return it == list.end() ? nullptr : &*it;
}

// The value of the first pair named `key`, if any.
inline std::optional<std::string_view> find_value(const KeyValueList& list,
                                                  std::string_view key) noexcept {
  if (const KeyValue* kv = find(list, key)) return std::string_view(kv->value);
  return std::nullopt;
}

inline bool contains(const KeyValueList& list, std::string_view key) noexcept {
  return find(list, key) != nullptr;
}

// Replaces the value of the first pair named `key`, or appends a new pair.
inline void set(KeyValueList& list, std::string_view key, std::string_view value) {
  if (KeyValue* kv = find(list, key)) {
    kv->value.assign(value);
  } else {
    list.push_back(KeyValue{std::string(key), std::string(value)});
  }
}

// The RFC's reserved answers (section 6.2): a responder uses them in place of a value.
inline constexpr std::string_view kNotUnderstood = "NotUnderstood";
inline constexpr std::string_view kIrrelevant = "Irrelevant";
inline constexpr std::string_view kReject = "Reject";

}  // namespace iscsi::text
