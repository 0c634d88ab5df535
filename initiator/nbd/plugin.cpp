// nbdkit-lab-iscsi-plugin.so: the nbdkit glue (API version 2) around ExportConfigParser and
// LunExport. Nothing here decides anything about SCSI; it turns nbdkit callbacks into calls and
// IoErrors into nbdkit_error + errno.
//
// Thread model PARALLEL: every LunExport call is a blocking net::Session call, which posts to
// the Initiator's one engine thread and waits on a future, so any number of nbdkit worker
// threads may call at once, and several requests of one connection are in flight on the iSCSI
// session together (up to the session's queue depth). Each NBD connection logs in a session of
// its own; SYNCHRONIZE CACHE flushes the LU for every nexus, so multi-conn is safe.
//
// Several url=: each NBD connection logs in one session per path and serves an
// mpath::Device over them (a path picked per command, a command that failed on a dying path
// sent again on another one); the device's events (path failed, reinstated, failovers) are
// logged with nbdkit_debug when the connection closes, or at .cleanup for a connection nbdkit
// never closed (it can go down with one still open when a --run command exits).
#define NBDKIT_API_VERSION 2
#include <nbdkit-plugin.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "mpath/device.hpp"
#include "mpath/settings.hpp"
#include "nbd/export_config.hpp"
#include "nbd/lun_export.hpp"
#include "net/initiator.hpp"

#define THREAD_MODEL NBDKIT_THREAD_MODEL_PARALLEL

namespace {

using iscsi::nbd::ExportConfig;
using iscsi::nbd::ExportConfigParser;
using iscsi::nbd::IoError;
using iscsi::nbd::LunExport;

ExportConfigParser* g_parser = nullptr;
ExportConfig* g_config = nullptr;
// Created after nbdkit has forked into the background: a thread started before the fork would
// not exist in the server.
iscsi::net::Initiator* g_initiator = nullptr;

struct Handle {
  std::vector<std::shared_ptr<iscsi::net::Session>> sessions;  // one per path
  std::shared_ptr<iscsi::mpath::Device> device;                  // several url= only
  std::unique_ptr<LunExport> lun;
  std::string description;
};

// The handles nbdkit has opened and not closed, so that .cleanup can still log their events.
std::mutex g_open_mu;
std::vector<Handle*> g_open;

void log_events(const Handle& h, const char* when) {
  if (!h.device) return;
  for (const auto& e : h.device->events()) {
    const std::string type(iscsi::mpath::to_string(e.type));
    nbdkit_debug("multipath event: %s %s %s%s", type.c_str(), e.path.c_str(), e.detail.c_str(),
                 when);
  }
}

int fail(const IoError& e) {
  nbdkit_error("%s", e.what());
  errno = e.error();
  return -1;
}

template <class F>
int guarded(const char* what, F&& f) {
  try {
    f();
    return 0;
  } catch (const IoError& e) {
    return fail(e);
  } catch (const std::exception& e) {
    nbdkit_error("%s: %s", what, e.what());
    errno = EIO;
    return -1;
  }
}

void lab_load() { g_parser = new ExportConfigParser; }

void lab_unload() {
  delete g_initiator;  // closes every session still open and joins the engine thread
  g_initiator = nullptr;
  delete g_config;
  g_config = nullptr;
  delete g_parser;
  g_parser = nullptr;
}

int lab_config(const char* key, const char* value) {
  try {
    if (std::strcmp(key, "password") == 0) {
      // nbdkit's password forms: the value, "-" (ask on the tty), "+FILE", "-FD".
      char* secret = nullptr;
      if (nbdkit_read_password(value, &secret) == -1) return -1;
      try {
        g_parser->set(key, secret);
      } catch (...) {
        std::memset(secret, 0, std::strlen(secret));
        std::free(secret);
        throw;
      }
      std::memset(secret, 0, std::strlen(secret));
      std::free(secret);
      return 0;
    }
    g_parser->set(key, value);
    return 0;
  } catch (const std::exception& e) {
    nbdkit_error("%s", e.what());
    return -1;
  }
}

int lab_config_complete() {
  try {
    g_config = new ExportConfig(g_parser->finish());
    nbdkit_debug("exporting %s", g_config->describe().c_str());
    return 0;
  } catch (const std::exception& e) {
    nbdkit_error("%s", e.what());
    return -1;
  }
}

int lab_after_fork() {
  try {
    iscsi::net::InitiatorOptions o;
    o.log = [](std::string_view line) {
      nbdkit_debug("%.*s", static_cast<int>(line.size()), line.data());
    };
    g_initiator = new iscsi::net::Initiator(std::move(o));
    return 0;
  } catch (const std::exception& e) {
    nbdkit_error("starting the iSCSI engine: %s", e.what());
    return -1;
  }
}

void* lab_open(int /*readonly*/) {
  auto h = std::make_unique<Handle>();
  h->description = g_config->describe();
  try {
    std::vector<iscsi::mpath::PathSpec> specs;
    for (const auto& p : g_config->paths()) {
      h->sessions.push_back(g_initiator->login(p.target, iscsi::net::Portal{p.host, p.port},
                                               iscsi::nbd::session_options(*g_config)));
      specs.push_back({h->sessions.back(), p.lun});
    }
    if (g_config->is_multipath()) {
      h->device = iscsi::mpath::Device::create(std::move(specs),
                                               iscsi::mpath::parse_settings(g_config->multipath));
      h->lun = std::make_unique<LunExport>(iscsi::nbd::multipath_lu(h->device));
    } else {
      h->lun = std::make_unique<LunExport>(h->sessions.front(), g_config->lun);
    }
  } catch (const IoError& e) {
    nbdkit_error("%s: %s", h->description.c_str(), e.what());
    return nullptr;
  } catch (const std::exception& e) {
    nbdkit_error("%s: login: %s", h->description.c_str(), e.what());
    return nullptr;
  }
  nbdkit_debug("%s: %s", h->description.c_str(), h->lun->facts().summary().c_str());
  std::lock_guard lock(g_open_mu);
  g_open.push_back(h.get());
  return h.release();
}

void lab_close(void* handle) {
  std::unique_ptr<Handle> h(static_cast<Handle*>(handle));
  {
    std::lock_guard lock(g_open_mu);
    std::erase(g_open, h.get());
  }
  h->lun.reset();
  if (h->device) {
    log_events(*h, "");
    h->device.reset();  // stops its checker before the sessions go
  }
  for (auto& s : h->sessions) {
    try {
      s->logout();
    } catch (const std::exception& e) {
      // A session that is already gone cannot log out; the connection is closed either way.
      nbdkit_debug("%s: logout: %s", h->description.c_str(), e.what());
    }
  }
}

// Only logs: a connection thread may still be inside a handle nbdkit did not close, so
// nothing is freed here (the process is about to exit).
void lab_cleanup() {
  std::lock_guard lock(g_open_mu);
  for (const Handle* h : g_open) {
    log_events(*h, " (logged at cleanup: nbdkit did not close the connection)");
  }
}

LunExport& lun(void* handle) { return *static_cast<Handle*>(handle)->lun; }

const char* lab_export_description(void* handle) {
  return nbdkit_strdup_intern(static_cast<Handle*>(handle)->description.c_str());
}

int64_t lab_get_size(void* handle) { return static_cast<int64_t>(lun(handle).size()); }

int lab_block_size(void* handle, uint32_t* minimum, uint32_t* preferred, uint32_t* maximum) {
  const auto& f = lun(handle).facts();
  const std::uint32_t bl = f.capacity.block_length;
  // nbdkit wants a power of two between 1 and 64 KiB for the minimum.
  *minimum = (bl & (bl - 1)) == 0 && bl <= 65536 ? bl : 1;
  *preferred = std::max<std::uint32_t>(4096, *minimum);
  std::uint64_t max = 32u << 20;
  if (f.max_transfer_blocks) max = std::min<std::uint64_t>(max, std::uint64_t{f.max_transfer_blocks} * bl);
  *maximum = static_cast<std::uint32_t>(std::max<std::uint64_t>(max, *preferred));
  return 0;
}

int lab_can_write(void* handle) { return lun(handle).facts().write_protected ? 0 : 1; }
int lab_can_flush(void*) { return 1; }
int lab_can_trim(void* handle) { return lun(handle).facts().unmap ? 1 : 0; }
int lab_can_zero(void*) { return 1; }  // WRITE SAME, or EOPNOTSUPP and nbdkit writes zeroes
int lab_can_fast_zero(void* handle) { return lun(handle).write_same_supported() ? 1 : 0; }
int lab_can_fua(void* handle) {
  return lun(handle).facts().dpofua ? NBDKIT_FUA_NATIVE : NBDKIT_FUA_EMULATE;
}
int lab_can_multi_conn(void*) { return 1; }
int lab_is_rotational(void*) { return 0; }

int lab_pread(void* handle, void* buf, uint32_t count, uint64_t offset, uint32_t) {
  return guarded("read", [&] {
    lun(handle).pread({static_cast<std::uint8_t*>(buf), count}, offset);
  });
}

int lab_pwrite(void* handle, const void* buf, uint32_t count, uint64_t offset, uint32_t flags) {
  return guarded("write", [&] {
    lun(handle).pwrite({static_cast<const std::uint8_t*>(buf), count}, offset,
                       (flags & NBDKIT_FLAG_FUA) != 0);
  });
}

int lab_flush(void* handle, uint32_t) {
  return guarded("flush", [&] { lun(handle).flush(); });
}

int lab_trim(void* handle, uint32_t count, uint64_t offset, uint32_t flags) {
  return guarded("trim", [&] {
    lun(handle).trim(count, offset);
    if (flags & NBDKIT_FLAG_FUA) lun(handle).flush();
  });
}

int lab_zero(void* handle, uint32_t count, uint64_t offset, uint32_t flags) {
  return guarded("zero", [&] {
    nbdkit_debug("zero: %u bytes at %llu%s", count, static_cast<unsigned long long>(offset),
                 (flags & NBDKIT_FLAG_MAY_TRIM) ? " (may trim)" : "");
    lun(handle).zero(count, offset, (flags & NBDKIT_FLAG_MAY_TRIM) != 0,
                     (flags & NBDKIT_FLAG_FUA) != 0, (flags & NBDKIT_FLAG_FAST_ZERO) != 0);
  });
}

struct nbdkit_plugin make_plugin() {
  struct nbdkit_plugin p {};
  p.name = "lab-iscsi";
  p.longname = "iscsi-lab userspace iSCSI initiator";
  p.version = "0.1.0";
  p.description = "Export an iSCSI LUN through iscsi-lab's initiator";
  p.load = lab_load;
  p.unload = lab_unload;
  p.config = lab_config;
  p.config_complete = lab_config_complete;
  p.config_help = ExportConfigParser::help();
  p.magic_config_key = "url";
  p.after_fork = lab_after_fork;
  p.open = lab_open;
  p.close = lab_close;
  p.cleanup = lab_cleanup;
  p.export_description = lab_export_description;
  p.get_size = lab_get_size;
  p.block_size = lab_block_size;
  p.can_write = lab_can_write;
  p.can_flush = lab_can_flush;
  p.can_trim = lab_can_trim;
  p.can_zero = lab_can_zero;
  p.can_fast_zero = lab_can_fast_zero;
  p.can_fua = lab_can_fua;
  p.can_multi_conn = lab_can_multi_conn;
  p.is_rotational = lab_is_rotational;
  p.pread = lab_pread;
  p.pwrite = lab_pwrite;
  p.flush = lab_flush;
  p.trim = lab_trim;
  p.zero = lab_zero;
  p.errno_is_preserved = 1;
  return p;
}

struct nbdkit_plugin plugin = make_plugin();

}  // namespace

NBDKIT_REGISTER_PLUGIN(plugin)
