// Test helper: runs a real iSNS server (open-isns's isnsd, Debian package `open-isns-server`) on
// loopback for the iSNS client's tests, and tears it down completely.
//
//   iscsi::test::Isnsd isnsd;                       // listening on 127.0.0.1:<free port>
//   net::isns_register_target(net::Portal{isnsd.host(), isnsd.port()}, entity);
//   isnsd.isnsadm({"--query", "iscsi-name"});       // open-isns-utils against the same server
//
// Each instance has its own isnsd process in its own process group, its own temp dir with its
// config file (isnsd.conf: BindAddress, SourceName, Database, PIDFile, ControlSocket, Security 0,
// SLP and ESI off, the default discovery domain on so every node sees every other) and its
// database directory, and isnsd.log (-f -d all). The destructor sends SIGTERM then SIGKILL to the
// group and removes the dir, which is kept (and its path printed) when the test failed. isnsd
// gets PR_SET_PDEATHSIG=SIGKILL: create an Isnsd on the test's own thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/tgtd_fixture.hpp"  // ProcessResult, run_process

namespace iscsi::test {

class IsnsdError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Isnsd {
 public:
  static constexpr const char* kIsnsd = "/usr/sbin/isnsd";
  static constexpr const char* kIsnsadm = "/usr/sbin/isnsadm";

  // Starts isnsd and waits until it listens; throws IsnsdError (with the log's tail) otherwise.
  explicit Isnsd(std::chrono::milliseconds start_timeout = std::chrono::seconds{10});
  ~Isnsd();
  Isnsd(const Isnsd&) = delete;
  Isnsd& operator=(const Isnsd&) = delete;

  // Why isnsd cannot run here (not installed), or nullopt.
  static std::optional<std::string> unavailable_reason();

  const std::string& host() const { return host_; }  // "127.0.0.1"
  std::uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path log_path() const { return dir_ / "isnsd.log"; }
  std::string log_tail(std::size_t lines = 40) const;

  // Runs isnsadm with a client config naming this server (Security 0, SourceName
  // `source_name`): isnsadm({"--query", "iscsi-name"}).
  ProcessResult isnsadm(const std::vector<std::string>& args,
                        const std::string& source_name = "iqn.2026-12.org.example:isnsadm");

 private:
  void teardown() noexcept;

  std::string host_ = "127.0.0.1";
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
  std::filesystem::path dir_;
  bool keep_dir_ = false;
};

}  // namespace iscsi::test
