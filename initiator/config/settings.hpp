// The settings table: every open-iscsi key this initiator reads or keeps (iscsid.conf, node,
// discovery and iface records), with its type, open-iscsi's shipped default, its range, and
// whether it is a secret. One row per key; parsers, printers, validation, "did you mean" and the
// typed NodeSettings all read the rows, so a key is spelled in exactly one place.
//
// Also here: Diagnostic (file:line: message), Checked<T> (a value or diagnostics), and
// SettingMap (validated key -> value text, iterated in table order, which is the order open-iscsi
// prints a record in).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

#include "config/errc.hpp"

namespace iscsi::config {

// Which file a key belongs in. iscsid.conf may hold iscsid, node and discovery keys (defaults
// for new records); a node record holds node and iface keys; st_config holds discovery keys;
// ifaces/<name> holds iface keys.
enum class Scope : std::uint8_t { iscsid, node, discovery, iface };

enum class Type : std::uint8_t {
  integer,      // decimal, within [min, max]
  boolean,      // Yes / No (any case on input, printed as Yes / No)
  choice,       // one of `choices` ("manual|automatic|onboot"), any case on input
  string,       // free text up to 255 bytes, no control characters
  secret,       // a string that is masked by show unless show_secrets
  digest_list,  // "None", "CRC32C", "CRC32C,None", "None,CRC32C"
  chap_algs,    // "SHA3-256,SHA256,SHA1,MD5" (any subset, any order, no repeats)
  iscsi_name,   // iqn./eui./naa. name, or empty where the row's default is empty
  isid,         // 12 hex digits (the 48-bit ISID, "0x" optional, printed lower-case), or empty
};
std::string_view to_string(Type t) noexcept;
std::string_view to_string(Scope s) noexcept;

struct SettingInfo {
  std::string_view key;
  Scope scope;
  Type type;
  std::string_view default_value;  // open-iscsi's shipped default, as it prints it
  std::int64_t min = 0;            // Type::integer only
  std::int64_t max = 0;
  std::string_view choices;        // Type::choice only, '|'-separated canonical spellings
  bool secret = false;             // masked by show, never logged
  bool identity = false;           // names the record: set by -o new, refused by -o update
  bool used = true;                // false: accepted and kept (round trip), not acted on here
  bool always_written = true;      // false: written to a record only when set explicitly
  std::string_view about;          // one line for `lab-iscsiadm` help
};

// Every row, in open-iscsi's print order.
std::span<const SettingInfo> all_settings() noexcept;
const SettingInfo* find_setting(std::string_view key) noexcept;
std::size_t index_of(const SettingInfo& info) noexcept;
// Up to three keys close to `key` (edit distance, case-insensitive match first).
std::vector<std::string_view> suggest_settings(std::string_view key);

// Checks `value` against the row and returns it in canonical spelling (blanks around it removed,
// as the file parsers do; "yes" -> "Yes",
// "0262144" -> "262144", "<empty>" -> ""). On failure, returns the code and sets *why to words
// such as "expected Yes or No" or "262144000 is above the maximum 16777215".
struct NormalizeOutcome {
  std::string value;
  std::error_code error;
  std::string why;
};
NormalizeOutcome normalize_value(const SettingInfo& info, std::string_view value);

// "node.sesion.timeo.replacement_timeout" -> "unknown setting 'node.sesion...'; did you mean
// 'node.session.timeo.replacement_timeout'?" (suggest=false: without the suggestion, for the
// many unknown keys of a file that is not a settings file at all).
std::string unknown_setting_message(std::string_view key, bool suggest = true);

// One problem in one file (line 0: the file as a whole, or a command-line override).
struct Diagnostic {
  std::string file;
  std::size_t line = 0;
  std::error_code code;
  std::string message;
  // "file:line: message", "file: message", or just "message" when there is no file.
  std::string to_string() const;
};

// A value, or the diagnostics that prevented it. Config is not proto: it reads files and reports
// every problem in them at once rather than stopping at the first.
template <class T>
class [[nodiscard]] Checked {
 public:
  Checked(T value) : value_(std::move(value)) {}  // NOLINT: implicit
  Checked(Diagnostic d) { diagnostics_.push_back(std::move(d)); }  // NOLINT: implicit
  Checked(std::vector<Diagnostic> ds) : diagnostics_(std::move(ds)) {}  // NOLINT: implicit

  bool ok() const noexcept { return value_.has_value(); }
  explicit operator bool() const noexcept { return ok(); }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  const std::vector<Diagnostic>& diagnostics() const noexcept { return diagnostics_; }
  // The first diagnostic's code (falsy when ok).
  std::error_code error() const noexcept {
    return diagnostics_.empty() ? std::error_code{} : diagnostics_.front().code;
  }
  // Every diagnostic, one per line.
  std::string message() const {
    std::string out;
    for (const auto& d : diagnostics_) {
      if (!out.empty()) out += '\n';
      out += d.to_string();
    }
    return out;
  }

 private:
  std::optional<T> value_;
  std::vector<Diagnostic> diagnostics_;
};
using Status = Checked<std::monostate>;
inline Status ok_status() { return Status(std::monostate{}); }

// Validated settings: key -> canonical value text. Iterates in table order. Values of secret rows
// are wiped when replaced or destroyed (records hold CHAP secrets in clear, as open-iscsi's do).
class SettingMap {
 public:
  SettingMap() = default;
  SettingMap(const SettingMap& other) = default;
  SettingMap& operator=(const SettingMap& other);
  SettingMap(SettingMap&& other) noexcept = default;
  SettingMap& operator=(SettingMap&& other) noexcept;
  ~SettingMap();

  // Validates and stores. Errors: unknown_setting, invalid_value, out_of_range, value_too_long;
  // the Diagnostic carries the words (its file/line are left for the caller to fill).
  std::optional<Diagnostic> set(std::string_view key, std::string_view value);
  // Stores a value already known to be canonical for `info` (used by defaults and merges).
  void set_canonical(const SettingInfo& info, std::string value);
  void erase(std::string_view key);

  const std::string* get(std::string_view key) const noexcept;
  // The stored value, or the row's default.
  std::string_view get_or_default(std::string_view key) const noexcept;
  bool contains(std::string_view key) const noexcept { return get(key) != nullptr; }
  std::size_t size() const noexcept;
  bool empty() const noexcept { return size() == 0; }

  // Copies every value of `upper` that is set, over ours (later layers win).
  void merge_from(const SettingMap& upper);
  // Keeps only the rows whose scope is in `scopes`.
  SettingMap only(std::initializer_list<Scope> scopes) const;

  // (row, value) for each stored key, in table order.
  std::vector<std::pair<const SettingInfo*, const std::string*>> entries() const;

  friend bool operator==(const SettingMap& a, const SettingMap& b) { return a.values_ == b.values_; }

 private:
  void wipe() noexcept;
  std::vector<std::optional<std::string>> values_;  // indexed like all_settings(); empty = none set
};

// Every row of the given scopes set to its default (open-iscsi's "-o new" starting point).
SettingMap defaults_for(std::initializer_list<Scope> scopes);

}  // namespace iscsi::config
