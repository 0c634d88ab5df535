// SCSI commands behind the NBD requests (see lun_export.hpp).
#include "nbd/lun_export.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <vector>

#include "proto/scsi/scsi.hpp"

namespace iscsi::nbd {

namespace {

// As the SCSI midlayer does: a UNIT ATTENTION (reset, capacity changed, ...) is reported once
// per nexus and the command is simply sent again.
constexpr int kUnitAttentionRetries = 5;
// Requests larger than this are split even when the LU reports no limit (NBD's own limit).
constexpr std::uint64_t kMaxRequestBytes = 32u << 20;
// WRITE SAME / UNMAP ranges are cut into pieces of at most this many blocks when the LU
// reports no maximum, so one command never runs for minutes on a slow backing store.
constexpr std::uint64_t kDefaultRangeBlocks = 1u << 22;

// One lock for every read-modify-write in the process: two patches of the same block from
// different connections (or threads) must not interleave.
std::mutex g_patch_lock;

net::ScsiCommand command(const Result<scsi::Cdb>& cdb, const std::string& what, std::uint16_t lun) {
  if (!cdb) throw IoError(EINVAL, what + ": " + cdb.error().message());
  net::ScsiCommand c;
  c.lun = lun;
  c.cdb.assign(cdb->bytes.begin(), cdb->bytes.begin() + cdb->length);
  switch (cdb->direction) {
    case scsi::DataDirection::none: c.direction = session::DataDirection::none; break;
    case scsi::DataDirection::read: c.direction = session::DataDirection::read; break;
    case scsi::DataDirection::write: c.direction = session::DataDirection::write; break;
  }
  return c;
}

std::string range(std::string_view name, std::uint64_t lba, std::uint64_t blocks) {
  return std::string(name) + " at LBA " + std::to_string(lba) + " (" + std::to_string(blocks) +
         " blocks)";
}

bool unsupported(const session::ScsiResult& r) {
  // INVALID COMMAND OPERATION CODE, or INVALID FIELD IN CDB (a bit such as UNMAP refused).
  return r.sense && r.sense->key == scsi::SenseKey::illegal_request &&
         ((r.sense->asc == 0x20 && r.sense->ascq == 0) || (r.sense->asc == 0x24 && r.sense->ascq == 0));
}

}  // namespace

std::string LunFacts::summary() const {
  std::string s = std::to_string(capacity.blocks) + " blocks of " +
                  std::to_string(capacity.block_length) + " bytes";
  s += write_protected ? ", write-protected" : ", writable";
  if (!mode_sense_ok) s += " (MODE SENSE refused: WP unknown)";
  s += dpofua ? ", FUA" : ", no FUA";
  s += unmap ? ", UNMAP" : ", no UNMAP";
  if (write_same_unmap) s += ", WRITE SAME with UNMAP";
  if (max_transfer_blocks) s += ", max transfer " + std::to_string(max_transfer_blocks);
  if (max_unmap_blocks) s += ", max unmap " + std::to_string(max_unmap_blocks);
  if (max_write_same_blocks) s += ", max write same " + std::to_string(max_write_same_blocks);
  return s;
}

namespace {

class SessionLu final : public LuPath {
 public:
  SessionLu(std::shared_ptr<net::Session> s, std::uint16_t lun) : s_(std::move(s)), lun_(lun) {}
  session::ScsiResult scsi(net::ScsiCommand cmd) override { return s_->scsi(std::move(cmd)); }
  net::Capacity read_capacity() override { return s_->read_capacity(lun_); }
  ByteVector inquiry_vpd(std::uint8_t page) override { return s_->inquiry_vpd(page, lun_); }
  std::uint16_t lun() const noexcept override { return lun_; }

 private:
  std::shared_ptr<net::Session> s_;
  std::uint16_t lun_;
};

class MultipathLu final : public LuPath {
 public:
  explicit MultipathLu(std::shared_ptr<mpath::Device> d) : d_(std::move(d)) {}
  session::ScsiResult scsi(net::ScsiCommand cmd) override { return d_->scsi(std::move(cmd)); }
  // Read by Device::create from every path (and checked to agree).
  net::Capacity read_capacity() override { return d_->capacity(); }
  ByteVector inquiry_vpd(std::uint8_t page) override {
    auto cmd = command(scsi::inquiry_vpd(page, 4096), "INQUIRY VPD", 0);
    cmd.read_length = 4096;
    auto r = d_->scsi(std::move(cmd));
    if (!good(r)) throw error_from_result("INQUIRY VPD page " + std::to_string(page), r);
    return std::move(r.data);
  }
  std::uint16_t lun() const noexcept override { return 0; }  // the device sets each path's

 private:
  std::shared_ptr<mpath::Device> d_;
};

}  // namespace

std::unique_ptr<LuPath> session_lu(std::shared_ptr<net::Session> session, std::uint16_t lun) {
  return std::make_unique<SessionLu>(std::move(session), lun);
}

std::unique_ptr<LuPath> multipath_lu(std::shared_ptr<mpath::Device> device) {
  return std::make_unique<MultipathLu>(std::move(device));
}

LunExport::LunExport(std::unique_ptr<LuPath> lu) : lu_(std::move(lu)), lun_(lu_->lun()) {
  try {
    facts_.capacity = lu_->read_capacity();
  } catch (...) {
    throw error_from_exception("READ CAPACITY", std::current_exception());
  }
  if (facts_.capacity.block_length == 0 || facts_.capacity.blocks == 0) {
    throw IoError(EIO, "READ CAPACITY: the LU reports no blocks");
  }
  // MODE SENSE(6), all pages, no block descriptors: only the header's WP and DPOFUA matter.
  {
    auto cmd = command(scsi::mode_sense6(252, {.disable_block_descriptors = true}), "MODE SENSE(6)",
                       lun_);
    cmd.read_length = 252;
    try {
      auto r = run(std::move(cmd), "MODE SENSE(6)");
      if (auto p = scsi::decode_mode_sense6(r.data)) {
        facts_.mode_sense_ok = true;
        facts_.write_protected = p->write_protected();
        facts_.dpofua = p->dpofua();
      }
    } catch (const IoError&) {
      // Not every LU has MODE SENSE; writes then find out from the sense of WRITE itself.
    }
  }
  std::vector<std::uint8_t> pages;
  try {
    auto d = lu_->inquiry_vpd(scsi::vpd_page::kSupportedPages);
    if (auto s = scsi::decode_vpd_supported_pages(d)) pages = s->pages;
  } catch (...) {
    // No VPD pages: no UNMAP, no limits known.
  }
  auto has = [&](std::uint8_t p) { return std::find(pages.begin(), pages.end(), p) != pages.end(); };
  if (has(scsi::vpd_page::kBlockLimits)) {
    try {
      auto d = lu_->inquiry_vpd(scsi::vpd_page::kBlockLimits);
      if (auto bl = scsi::decode_vpd_block_limits(d)) {
        facts_.max_transfer_blocks = bl->max_transfer_length;
        facts_.optimal_transfer_blocks = bl->optimal_transfer_length;
        facts_.max_unmap_blocks = bl->max_unmap_lba_count;
        facts_.max_write_same_blocks = bl->max_write_same_length;
      }
    } catch (...) {
    }
  }
  if (has(scsi::vpd_page::kLogicalBlockProvisioning)) {
    try {
      auto d = lu_->inquiry_vpd(scsi::vpd_page::kLogicalBlockProvisioning);
      if (auto lbp = scsi::decode_vpd_logical_block_provisioning(d)) {
        facts_.unmap = lbp->lbpu;
        facts_.write_same_unmap = lbp->lbpws;
        facts_.unmapped_read_zero = lbp->lbprz == 1;
      }
    } catch (...) {
    }
  }
}

session::ScsiResult LunExport::run(net::ScsiCommand cmd, const std::string& what) {
  for (int attempt = 0;; ++attempt) {
    session::ScsiResult r;
    try {
      r = lu_->scsi(cmd);
    } catch (...) {
      throw error_from_exception(what, std::current_exception());
    }
    if (good(r)) return r;
    const bool ua = r.sense && r.sense->key == scsi::SenseKey::unit_attention;
    if (!ua || attempt >= kUnitAttentionRetries) throw error_from_result(what, r);
  }
}

std::uint32_t LunExport::chunk_blocks() const noexcept {
  std::uint64_t n = kMaxRequestBytes / block_length();
  if (facts_.max_transfer_blocks) n = std::min<std::uint64_t>(n, facts_.max_transfer_blocks);
  return static_cast<std::uint32_t>(std::max<std::uint64_t>(n, 1));
}

void LunExport::read_blocks(std::uint64_t lba, MutableByteSpan buf) {
  const std::uint32_t bl = block_length();
  const std::uint32_t step = chunk_blocks();
  while (!buf.empty()) {
    const auto blocks = static_cast<std::uint32_t>(std::min<std::uint64_t>(buf.size() / bl, step));
    const std::uint32_t bytes = blocks * bl;
    const std::string what = range("READ(16)", lba, blocks);
    auto cmd = command(scsi::read16(lba, blocks), what, lun_);
    cmd.read_length = bytes;
    cmd.read_into = buf.first(bytes);
    auto r = run(std::move(cmd), what);
    if (r.read_bytes < bytes) {
      throw IoError(EIO, what + ": the target sent " + std::to_string(r.read_bytes) + " of " +
                             std::to_string(bytes) + " bytes");
    }
    buf = buf.subspan(bytes);
    lba += blocks;
  }
}

void LunExport::write_blocks(std::uint64_t lba, ByteSpan buf, bool fua) {
  const std::uint32_t bl = block_length();
  const std::uint32_t step = chunk_blocks();
  while (!buf.empty()) {
    const auto blocks = static_cast<std::uint32_t>(std::min<std::uint64_t>(buf.size() / bl, step));
    const std::uint32_t bytes = blocks * bl;
    const std::string what = range("WRITE(16)", lba, blocks);
    auto cmd = command(scsi::write16(lba, blocks, {.fua = fua && facts_.dpofua}), what, lun_);
    cmd.write_view = buf.first(bytes);
    run(std::move(cmd), what);
    buf = buf.subspan(bytes);
    lba += blocks;
  }
}

void LunExport::pread(MutableByteSpan buf, std::uint64_t offset) {
  const std::uint32_t bl = block_length();
  if (offset % bl == 0 && buf.size() % bl == 0) return read_blocks(offset / bl, buf);
  // Unaligned: read the covering blocks into a bounce buffer and copy out the middle.
  const std::uint64_t first = offset / bl;
  const std::uint64_t last = (offset + buf.size() + bl - 1) / bl;
  ByteVector bounce((last - first) * bl);
  read_blocks(first, bounce);
  std::memcpy(buf.data(), bounce.data() + (offset - first * bl), buf.size());
}

void LunExport::patch_block(std::uint64_t lba, std::uint32_t in_block, ByteSpan data,
                            std::uint32_t zeros, bool fua) {
  const std::uint32_t bl = block_length();
  ByteVector block(bl);
  std::lock_guard lock(g_patch_lock);
  read_blocks(lba, block);
  if (data.empty()) {
    std::memset(block.data() + in_block, 0, zeros);
  } else {
    std::memcpy(block.data() + in_block, data.data(), data.size());
  }
  write_blocks(lba, block, fua);
}

void LunExport::pwrite(ByteSpan buf, std::uint64_t offset, bool fua) {
  const std::uint32_t bl = block_length();
  if (offset % bl != 0) {
    const auto in_block = static_cast<std::uint32_t>(offset % bl);
    const auto n = static_cast<std::uint32_t>(std::min<std::uint64_t>(bl - in_block, buf.size()));
    patch_block(offset / bl, in_block, buf.first(n), 0, fua);
    buf = buf.subspan(n);
    offset += n;
  }
  const std::size_t whole = buf.size() / bl * bl;
  if (whole) write_blocks(offset / bl, buf.first(whole), fua);
  buf = buf.subspan(whole);
  offset += whole;
  if (!buf.empty()) patch_block(offset / bl, 0, buf, 0, fua);
}

void LunExport::flush() {
  const std::string what = "SYNCHRONIZE CACHE(10)";
  run(command(scsi::synchronize_cache10(), what, lun_), what);
}

void LunExport::trim(std::uint32_t count, std::uint64_t offset) {
  if (!facts_.unmap) throw IoError(EOPNOTSUPP, "UNMAP: the LU does not support it (LBPU = 0)");
  // Trim is advisory: only the whole blocks inside the range are unmapped.
  const std::uint32_t bl = block_length();
  std::uint64_t lba = (offset + bl - 1) / bl;
  const std::uint64_t end = (offset + count) / bl;
  const std::uint64_t step = facts_.max_unmap_blocks ? facts_.max_unmap_blocks : kDefaultRangeBlocks;
  while (lba < end) {
    const std::uint64_t n = std::min(end - lba, step);
    const scsi::UnmapDescriptor d{lba, static_cast<std::uint32_t>(n)};
    auto u = scsi::unmap(std::span(&d, 1));
    const std::string what = range("UNMAP", lba, n);
    if (!u) throw IoError(EINVAL, what + ": " + u.error().message());
    auto cmd = command(u->cdb, what, lun_);
    cmd.write_data = std::move(u->parameter_list);
    run(std::move(cmd), what);
    lba += n;
  }
}

void LunExport::write_same_zero(std::uint64_t lba, std::uint64_t blocks, bool unmap, bool fua) {
  const std::uint64_t step = facts_.max_write_same_blocks ? facts_.max_write_same_blocks
                                                          : kDefaultRangeBlocks;
  const ByteVector zero_block(block_length());
  while (blocks > 0) {
    const std::uint64_t n = std::min(blocks, step);
    const std::string what = range(unmap ? "WRITE SAME(16) UNMAP" : "WRITE SAME(16)", lba, n);
    auto cmd = command(
        scsi::write_same16(lba, static_cast<std::uint32_t>(n), {.unmap = unmap}), what, lun_);
    cmd.write_view = zero_block;
    session::ScsiResult r;
    try {
      r = lu_->scsi(cmd);
    } catch (...) {
      throw error_from_exception(what, std::current_exception());
    }
    if (!good(r) && unsupported(r)) {
      if (unmap) {  // the UNMAP bit refused: zero without it
        unmap = false;
        continue;
      }
      write_same_ok_ = false;
      throw IoError(EOPNOTSUPP, what + ": not supported by the LU (" +
                                    (r.sense ? scsi::to_string(*r.sense) : std::string("?")) + ")");
    }
    if (!good(r)) {
      if (r.sense && r.sense->key == scsi::SenseKey::unit_attention) continue;
      throw error_from_result(what, r);
    }
    lba += n;
    blocks -= n;
  }
  if (fua) flush();  // WRITE SAME has no FUA bit
}

void LunExport::zero(std::uint32_t count, std::uint64_t offset, bool may_trim, bool fua, bool fast) {
  if (!write_same_ok_) {
    throw IoError(EOPNOTSUPP, "WRITE SAME(16): not supported by the LU");
  }
  const std::uint32_t bl = block_length();
  const bool aligned = offset % bl == 0 && count % bl == 0;
  // A fast zero must not fall back to writing data; partial blocks would need that.
  if (fast && !aligned) {
    throw IoError(EOPNOTSUPP, "fast zero of a range that is not whole blocks");
  }
  if (offset % bl != 0) {
    const auto in_block = static_cast<std::uint32_t>(offset % bl);
    const auto n = static_cast<std::uint32_t>(std::min<std::uint64_t>(bl - in_block, count));
    patch_block(offset / bl, in_block, {}, n, fua);
    count -= n;
    offset += n;
  }
  const std::uint64_t whole = count / bl;
  // UNMAP bit only when the LU says unmapped blocks read back as zeroes and supports it.
  if (whole) {
    write_same_zero(offset / bl, whole, may_trim && facts_.write_same_unmap, fua);
  }
  offset += whole * bl;
  count -= static_cast<std::uint32_t>(whole * bl);
  if (count) patch_block(offset / bl, 0, {}, count, fua);
}

}  // namespace iscsi::nbd
