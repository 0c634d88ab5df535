// Test helper: starts a daemon under test (tgtd, isnsd) the way the fixtures need it, in one
// place: its own process group (teardown signals the group), standard input from /dev/null,
// standard output and error appended to a log file, and PR_SET_PDEATHSIG=SIGKILL so it dies with
// the thread that created it (create fixtures on the test's own thread).
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace iscsi::test {

// Forks and execs argv[0] (a path) with `argv`. Returns the child's pid, or -1 with errno set
// when fork fails. An exec that fails shows as the child exiting with status 127 (126: the
// parent was already gone).
pid_t spawn_daemon(const std::vector<std::string>& argv, const std::filesystem::path& log_path);

}  // namespace iscsi::test
