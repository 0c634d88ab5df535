// Parsers and printers for iscsid.conf, initiatorname.iscsi and open-iscsi's record files.
#include "config/files.hpp"

#include <algorithm>
#include <vector>

#include "proto/text/values.hpp"

namespace iscsi::config {
namespace {

constexpr std::string_view kBegin = "# BEGIN RECORD";
constexpr std::string_view kEnd = "# END RECORD";
constexpr std::size_t kMaxDiagnostics = 50;  // a binary file should not produce a million lines

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

struct Line {
  std::size_t number;
  std::string_view text;  // trimmed
};

std::vector<Line> split_lines(std::string_view text) {
  std::vector<Line> out;
  std::size_t number = 0;
  while (!text.empty()) {
    ++number;
    const std::size_t nl = text.find('\n');
    out.push_back({number, trim(text.substr(0, nl))});
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return out;
}

class Collector {
 public:
  explicit Collector(std::string_view file) : file_(file) {}
  void add(std::size_t line, Errc code, std::string message) {
    if (list_.size() < kMaxDiagnostics)
      list_.push_back({file_, line, make_error_code(code), std::move(message)});
  }
  void add(std::size_t line, Diagnostic d) {
    d.file = file_;
    d.line = line;
    if (list_.size() < kMaxDiagnostics) list_.push_back(std::move(d));
  }
  bool empty() const noexcept { return list_.empty(); }
  // Past the cap, parsing stops: the rest would only cost time (suggestions are not free).
  bool full() const noexcept { return list_.size() >= kMaxDiagnostics; }
  // Suggestions for the first few unknown keys only: a garbage file should cost little.
  bool may_suggest() noexcept { return suggestions_++ < kMaxSuggestions; }
  std::vector<Diagnostic> take() { return std::move(list_); }

 private:
  static constexpr std::size_t kMaxSuggestions = 5;
  std::string file_;
  std::vector<Diagnostic> list_;
  std::size_t suggestions_ = 0;
};

// A short, secret-free picture of a malformed line: its first word only.
std::string first_word(std::string_view line) {
  const std::size_t end = line.find_first_of(" \t=");
  std::string word(line.substr(0, std::min<std::size_t>(end, 60)));
  for (char& c : word)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
  return word;
}

// "key = value" -> (key, value); nullopt when the line has no '=' or no key, or a key with
// blanks in it.
struct KeyValue {
  std::string_view key;
  std::string_view value;
};
std::optional<KeyValue> split_key_value(std::string_view line) {
  const std::size_t eq = line.find('=');
  if (eq == std::string_view::npos) return std::nullopt;
  const std::string_view key = trim(line.substr(0, eq));
  if (key.empty() || key.find_first_of(" \t") != std::string_view::npos) return std::nullopt;
  return KeyValue{key, trim(line.substr(eq + 1))};
}

void malformed(Collector& errors, const Line& line) {
  errors.add(line.number, Errc::malformed_line,
             "expected 'key = value', a '#' comment or a blank line; got '" +
                 first_word(line.text) + "...'");
}

// Validates one key = value into `out`, checking that the key may appear in this file.
void accept(Collector& errors, const Line& line, const KeyValue& kv, SettingMap& out,
            bool (*allowed)(const SettingInfo&, std::string&)) {
  const SettingInfo* info = find_setting(kv.key);
  if (!info) {
    errors.add(line.number, Errc::unknown_setting,
               unknown_setting_message(kv.key, errors.may_suggest()));
    return;
  }
  std::string why;
  if (!allowed(*info, why)) {
    errors.add(line.number, Errc::wrong_scope, std::string(info->key) + " " + why);
    return;
  }
  if (auto problem = out.set(kv.key, kv.value)) errors.add(line.number, std::move(*problem));
}

bool allowed_in_conf(const SettingInfo& info, std::string& why) {
  if (info.scope == Scope::iface) {
    why = "belongs in an iface record (ifaces/<name>), not in iscsid.conf";
    return false;
  }
  if (info.identity) {
    why = "names a record; it is given when the record is made, not in iscsid.conf";
    return false;
  }
  return true;
}

template <RecordKind kind>
bool allowed_in_record(const SettingInfo& info, std::string& why) {
  if (record_holds(kind, info.scope)) return true;
  why = "is a " + std::string(to_string(info.scope)) + " setting and cannot appear in a " +
        std::string(to_string(kind)) + " record";
  return false;
}

}  // namespace

std::string_view to_string(RecordKind k) noexcept {
  switch (k) {
    case RecordKind::node: return "node";
    case RecordKind::discovery: return "discovery";
    case RecordKind::iface: return "iface";
  }
  return "?";
}

bool record_holds(RecordKind kind, Scope scope) noexcept {
  switch (kind) {
    case RecordKind::node: return scope == Scope::node || scope == Scope::iface;
    case RecordKind::discovery: return scope == Scope::discovery;
    case RecordKind::iface: return scope == Scope::iface;
  }
  return false;
}

Checked<SettingMap> parse_iscsid_conf(std::string_view text, std::string_view file_name) {
  Collector errors(file_name);
  SettingMap out;
  for (const Line& line : split_lines(text)) {
    if (errors.full()) break;
    if (line.text.empty() || line.text.front() == '#') continue;
    const auto kv = split_key_value(line.text);
    if (!kv) {
      malformed(errors, line);
      continue;
    }
    accept(errors, line, *kv, out, &allowed_in_conf);
  }
  if (!errors.empty()) return errors.take();
  return out;
}

Checked<ParsedRecord> parse_record(std::string_view text, RecordKind kind,
                                   std::string_view file_name) {
  Collector errors(file_name);
  ParsedRecord out;
  const auto lines = split_lines(text);
  auto allowed = kind == RecordKind::node        ? &allowed_in_record<RecordKind::node>
                 : kind == RecordKind::discovery ? &allowed_in_record<RecordKind::discovery>
                                                 : &allowed_in_record<RecordKind::iface>;
  enum class Where { before, inside, after } where = Where::before;
  std::size_t last_line = 0;
  for (const Line& line : lines) {
    if (errors.full()) return errors.take();
    last_line = line.number;
    if (line.text.empty()) continue;
    switch (where) {
      case Where::before:
        if (line.text.starts_with(kBegin) &&
            (line.text.size() == kBegin.size() || line.text[kBegin.size()] == ' ' ||
             line.text[kBegin.size()] == '\t')) {
          out.version = std::string(trim(line.text.substr(kBegin.size())));
          where = Where::inside;
        } else {
          errors.add(line.number, Errc::missing_record_begin,
                     "expected '# BEGIN RECORD <version>' as the first line of a " +
                         std::string(to_string(kind)) + " record, got '" +
                         first_word(line.text) + "...'");
          return errors.take();
        }
        continue;
      case Where::inside:
        if (line.text == kEnd) {
          where = Where::after;
        } else if (line.text.front() == '#') {
          continue;
        } else if (const auto kv = split_key_value(line.text)) {
          accept(errors, line, *kv, out.settings, allowed);
        } else {
          malformed(errors, line);
        }
        continue;
      case Where::after:
        if (line.text.front() == '#') continue;
        errors.add(line.number, Errc::content_after_end,
                   "'" + first_word(line.text) + "...' after '# END RECORD'");
        continue;
    }
  }
  if (where == Where::before)
    errors.add(last_line, Errc::missing_record_begin,
               "empty file: expected '# BEGIN RECORD <version>'");
  else if (where == Where::inside)
    errors.add(last_line, Errc::missing_record_end,
               "expected '# END RECORD' before the end of the file (was the write cut short?)");
  if (!errors.empty()) return errors.take();
  return out;
}

std::string format_record(const SettingMap& settings, RecordKind kind,
                          const FormatOptions& options) {
  std::string out;
  out += kBegin;
  out += ' ';
  out += options.version;
  out += '\n';
  for (const auto& [info, value] : settings.entries()) {
    if (!record_holds(kind, info->scope)) continue;
    out += info->key;
    out += " = ";
    if (info->secret && !options.show_secrets && !value->empty()) out += kMasked;
    else if (value->empty()) out += "<empty>";
    else out += *value;
    out += '\n';
  }
  out += kEnd;
  out += '\n';
  return out;
}

Checked<InitiatorNameFile> parse_initiatorname(std::string_view text, std::string_view file_name) {
  Collector errors(file_name);
  InitiatorNameFile out;
  bool have_name = false;
  std::size_t last_line = 0;
  for (const Line& line : split_lines(text)) {
    if (errors.full()) break;
    last_line = line.number;
    if (line.text.empty() || line.text.front() == '#') continue;
    const auto kv = split_key_value(line.text);
    if (!kv) {
      malformed(errors, line);
      continue;
    }
    if (kv->key == "InitiatorName") {
      if (text::validate_iscsi_name(kv->value)) {
        errors.add(line.number, Errc::invalid_initiator_name,
                   "InitiatorName: expected an iSCSI name (iqn.yyyy-mm.reversed.domain[:id], "
                   "eui.<16 hex>, naa.<16 or 32 hex>), got '" + std::string(kv->value.substr(0, 80)) +
                       "'");
        continue;
      }
      out.name = std::string(kv->value);  // a repeat wins, as for every other file
      have_name = true;
    } else if (kv->key == "InitiatorAlias") {
      out.alias = std::string(kv->value);
    } else {
      errors.add(line.number, Errc::unknown_setting,
                 "unknown setting '" + first_word(kv->key) +
                     "'; expected InitiatorName= or InitiatorAlias=");
    }
  }
  if (!have_name && errors.empty())
    errors.add(last_line, Errc::missing_initiator_name,
               "expected a line 'InitiatorName=iqn.yyyy-mm.reversed.domain:id'");
  if (!errors.empty()) return errors.take();
  return out;
}

std::string format_initiatorname(const InitiatorNameFile& file) {
  std::string out = "InitiatorName=" + file.name + "\n";
  if (!file.alias.empty()) out += "InitiatorAlias=" + file.alias + "\n";
  return out;
}

}  // namespace iscsi::config
