// Crash-safe file replacement for the record database: the new bytes go to a temporary file in
// the same directory (so rename stays within one file system), which is fsynced, given its mode,
// renamed over the old name and followed by an fsync of the directory. A crash at any point
// leaves either the old file or the new one, plus at worst a stray ".<name>.tmp-XXXXXX" that
// readers ignore and the next write does not trip over.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>

#include "config/settings.hpp"

namespace iscsi::config {

// Prefix of temporary files; listings skip names starting with '.'.
inline constexpr std::string_view kTempPrefix = ".";
inline constexpr std::string_view kTempInfix = ".tmp-";

Status write_file_atomic(const std::filesystem::path& path, std::string_view content,
                         mode_t mode = 0600);
Checked<std::string> read_text_file(const std::filesystem::path& path);
// mkdir -p with `mode` for the directories it creates.
Status make_directories(const std::filesystem::path& dir, mode_t mode = 0700);

}  // namespace iscsi::config
