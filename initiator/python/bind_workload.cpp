// Workloads: Session.start_io -> IoJob (background I/O at a queue depth, workload/io_job.hpp)
// and the block pattern's encode_blocks / decode_blocks (workload/block_pattern.hpp), for the
// scenario runner's integrity checks. Records are plain tuples: a run drains tens of thousands.
#include <pybind11/stl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>
#include <string>

#include "bindings.hpp"
#include "mpath/device.hpp"
#include "workload/block_pattern.hpp"
#include "workload/io_job.hpp"

namespace iscsi::python {

namespace {

using py::gil_scoped_release;
using workload::IoJob;
using workload::JobSpec;

// What a Python IoJob holds. Dropping it stops the job; commands in flight finish against the
// job itself, which their callbacks keep alive.
struct JobHandle {
  std::shared_ptr<IoJob> job;
  ~JobHandle() {
    if (job) job->stop();
  }
};

// A bad spec is the module's InvalidArgumentError, as every other bad argument.
template <class F>
auto spec_checked(F&& fn) {
  try {
    return fn();
  } catch (const std::invalid_argument& e) {
    throw net::NetError(net::Errc::invalid_argument, e.what());
  }
}

JobSpec::Op op_from(const std::string& op) {
  if (op == "read") return JobSpec::Op::read;
  if (op == "write") return JobSpec::Op::write;
  if (op == "mixed") return JobSpec::Op::mixed;
  throw net::NetError(net::Errc::invalid_argument,
                      "start_io: op must be \"read\", \"write\" or \"mixed\", not \"" + op + "\"");
}

// The arguments of start_io, as Python passes them.
struct IoArgs {
  std::string op;
  std::uint64_t lba_count;
  std::uint32_t block_size;
  std::uint16_t lun;
  std::uint64_t first_lba;
  std::uint32_t blocks_per_io;
  std::uint32_t queue_depth;
  bool random;
  std::uint64_t seed;
  std::uint64_t max_ios;
  double seconds;
  std::uint16_t writer_id;
  std::uint32_t read_percent;
  bool retry_unit_attention;
};

JobSpec spec_of(const IoArgs& a) {
  JobSpec spec;
  spec.op = op_from(a.op);
  spec.lun = a.lun;
  spec.first_lba = a.first_lba;
  spec.lba_count = a.lba_count;
  spec.blocks_per_io = a.blocks_per_io;
  spec.block_size = a.block_size;
  spec.queue_depth = a.queue_depth;
  spec.random = a.random;
  spec.seed = a.seed;
  spec.max_ios = a.max_ios;
  spec.seconds = a.seconds;
  spec.writer_id = a.writer_id;
  spec.read_percent = a.read_percent;
  spec.retry_unit_attention = a.retry_unit_attention;
  return spec;
}

std::unique_ptr<JobHandle> start_job(workload::Submit submit, JobSpec spec) {
  auto handle = std::make_unique<JobHandle>();  // never copied: a copy's end would stop the job
  handle->job = spec_checked([&] { return IoJob::start(std::move(submit), spec); });
  return handle;
}

// What start_io needs of what it runs on: the block length for block_size 0, and the submit
// function. A multipath device gives each path's LUN to the commands, so there `lun` only has to
// be a valid number, and the block length is the LU's found at creation.
std::uint32_t block_length(net::Session& s, std::uint16_t lun) { return s.read_capacity(lun).block_length; }
std::uint32_t block_length(mpath::Device& d, std::uint16_t) { return d.capacity().block_length; }
workload::Submit submit_of(const std::shared_ptr<net::Session>& s) { return workload::submit_to(s); }
workload::Submit submit_of(const std::shared_ptr<mpath::Device>& d) { return d->submit_function(); }

template <class T>
std::unique_ptr<JobHandle> start_io(const Handle<T>& h, const std::string& op,
                                    std::uint64_t lba_count, std::uint32_t block_size,
                                    std::uint16_t lun, std::uint64_t first_lba,
                                    std::uint32_t blocks_per_io, std::uint32_t queue_depth,
                                    bool random, std::uint64_t seed, std::uint64_t max_ios,
                                    double seconds, std::uint16_t writer_id,
                                    std::uint32_t read_percent, bool retry_unit_attention) {
  JobSpec spec = spec_of({op, lba_count, block_size, lun, first_lba, blocks_per_io, queue_depth,
                          random, seed, max_ios, seconds, writer_id, read_percent,
                          retry_unit_attention});
  auto target = h.get();
  gil_scoped_release nogil;
  if (spec.block_size == 0) spec.block_size = block_length(*target, lun);
  return start_job(submit_of(target), spec);
}

// Error texts quote sense names and engine details; never let a stray byte make drain() raise.
py::str text(const std::string& s) {
  PyObject* o = PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()), "replace");
  if (o == nullptr) throw py::error_already_set();
  return py::reinterpret_steal<py::str>(o);
}

py::list records(std::vector<workload::IoRecord> recs) {
  py::list out(recs.size());
  for (std::size_t i = 0; i < recs.size(); ++i) {
    const auto& r = recs[i];
    out[i] = py::make_tuple(r.write, r.lba, r.blocks, r.generation, r.start_ns, r.end_ns, r.ok,
                            text(r.error));
  }
  return out;
}

py::list in_flight(const std::vector<workload::InFlight>& flights) {
  py::list out(flights.size());
  for (std::size_t i = 0; i < flights.size(); ++i) {
    const auto& f = flights[i];
    out[i] = py::make_tuple(f.handle, f.write, f.lba, f.blocks, f.generation, f.start_ns);
  }
  return out;
}

py::dict summary_dict(const workload::Summary& s) {
  py::dict d;
  d["started"] = s.started;
  d["completed_ok"] = s.completed_ok;
  d["failed"] = s.failed;
  d["reads"] = s.reads;
  d["writes"] = s.writes;
  d["bytes_read"] = s.bytes_read;
  d["bytes_written"] = s.bytes_written;
  d["in_flight"] = s.in_flight;
  d["ua_retries"] = s.ua_retries;
  py::list uas;
  for (const auto& u : s.unit_attentions) uas.append(text(u));
  d["unit_attentions"] = uas;
  d["first_start_ns"] = s.first_start_ns;
  d["last_end_ns"] = s.last_end_ns;
  d["end_reason"] = text(s.end_reason);
  d["done"] = s.done;
  return d;
}

bool wait_for(const JobHandle& j, double timeout) {
  if (std::isnan(timeout)) throw net::NetError(net::Errc::invalid_argument, "wait: timeout is NaN");
  // Anything past a year is "for ever" (IoJob::wait clamps too).
  const double capped = std::clamp(timeout, 0.0, 365.0 * 24 * 3600);
  const auto ns = std::chrono::nanoseconds(static_cast<std::int64_t>(capped * 1e9));
  gil_scoped_release nogil;
  return j.job->wait(ns);
}

py::bytes encode(std::uint64_t first_lba, std::uint64_t blocks, std::uint32_t block_size,
                 std::uint64_t generation) {
  if (!workload::valid_block_size(block_size)) {
    throw net::NetError(net::Errc::invalid_argument,
                        "encode_blocks: block_size " + std::to_string(block_size) +
                            " is not a multiple of 8 of at least 64 bytes");
  }
  if (blocks > (std::uint64_t{1} << 40) / block_size) {
    throw net::NetError(net::Errc::invalid_argument, "encode_blocks: too many blocks");
  }
  const auto n = static_cast<Py_ssize_t>(blocks * block_size);
  // A fresh bytes object filled in place: nobody else can see it before it is returned.
  py::bytes out = py::reinterpret_steal<py::bytes>(PyBytes_FromStringAndSize(nullptr, n));
  if (!out) throw py::error_already_set();
  auto* p = reinterpret_cast<std::uint8_t*>(PyBytes_AS_STRING(out.ptr()));
  {
    gil_scoped_release nogil;
    workload::encode_blocks(MutableByteSpan(p, static_cast<std::size_t>(n)), first_lba, block_size,
                            generation);
  }
  return out;
}

py::list decode(const py::object& data, std::uint32_t block_size) {
  if (block_size == 0) {
    throw net::NetError(net::Errc::invalid_argument, "decode_blocks: block_size is 0");
  }
  Py_buffer view;
  if (PyObject_GetBuffer(data.ptr(), &view, PyBUF_C_CONTIGUOUS) != 0) throw py::error_already_set();
  std::vector<workload::BlockState> states;
  try {
    gil_scoped_release nogil;
    states = workload::decode_blocks(
        ByteSpan(static_cast<const std::uint8_t*>(view.buf), static_cast<std::size_t>(view.len)),
        block_size);
  } catch (...) {
    PyBuffer_Release(&view);
    throw;
  }
  PyBuffer_Release(&view);
  // Three shared kind strings instead of one per block.
  const py::str names[] = {py::str(std::string(workload::to_string(workload::BlockState::Kind::unwritten))),
                           py::str(std::string(workload::to_string(workload::BlockState::Kind::intact))),
                           py::str(std::string(workload::to_string(workload::BlockState::Kind::corrupt)))};
  py::list out(states.size());
  for (std::size_t i = 0; i < states.size(); ++i) {
    const auto& st = states[i];
    out[i] = py::make_tuple(names[static_cast<int>(st.kind)], st.lba, st.generation);
  }
  return out;
}

}  // namespace

void bind_workload(py::module_& m) {
  py::class_<JobHandle>(
      m, "IoJob",
      "Background I/O at a queue depth (from Session.start_io). Writes carry the block pattern "
      "(see decode_blocks); every completion is recorded. Thread-safe; dropping the object stops "
      "the job.")
      .def("stop", [](const JobHandle& j) { j.job->stop(); },
           "No new command starts; those in flight finish.")
      .def("wait", &wait_for, py::arg("timeout"),
           "Waits up to `timeout` seconds (without the GIL); True when nothing is in flight and "
           "nothing more will start.")
      .def("drain", [](const JobHandle& j) { return records(j.job->drain()); },
           "The completions since the last drain, in completion order: tuples (write, lba, "
           "blocks, generation, start_ns, end_ns, ok, error); times are time.monotonic_ns().")
      .def("in_flight", [](const JobHandle& j) { return in_flight(j.job->in_flight()); },
           "Commands in flight: tuples (handle, write, lba, blocks, generation, start_ns); the "
           "handle is for Session.abort_task (0 while its submission is under way).")
      .def("summary", [](const JobHandle& j) { return summary_dict(j.job->summary()); },
           "Counts (started, completed_ok, failed, reads, writes, bytes_read, bytes_written, "
           "in_flight, ua_retries), unit_attentions in words, first_start_ns, last_end_ns, "
           "end_reason, done.")
      .def_property_readonly("done", [](const JobHandle& j) { return j.job->done(); },
                             "Nothing in flight and nothing more will start.");

  // Session is bound in bind_session.cpp; start_io is added to it here.
  auto session = py::reinterpret_borrow<py::class_<SessionHandle, std::shared_ptr<SessionHandle>>>(
      m.attr("Session"));
  session.def("start_io", &start_io<net::Session>, py::arg("op"), py::arg("lba_count"), py::arg("block_size") = 0,
              py::arg("lun") = 0, py::arg("first_lba") = 0, py::arg("blocks_per_io") = 8,
              py::arg("queue_depth") = 1, py::arg("random") = false, py::arg("seed") = 1,
              py::arg("max_ios") = 0, py::arg("seconds") = 0.0, py::arg("writer_id") = 1,
              py::arg("read_percent") = 50, py::arg("retry_unit_attention") = true,
              "Starts background I/O (op \"read\", \"write\" or \"mixed\") over LBAs [first_lba, "
              "first_lba + lba_count) and returns its IoJob. block_size 0 asks READ CAPACITY once. "
              "Ends after max_ios commands, after `seconds`, or at stop() (0: unlimited).");

  auto multipath = py::reinterpret_borrow<py::class_<MultipathHandle, std::shared_ptr<MultipathHandle>>>(
      m.attr("Multipath"));
  multipath.def("start_io", &start_io<mpath::Device>, py::arg("op"), py::arg("lba_count"),
                py::arg("block_size") = 0, py::arg("lun") = 0, py::arg("first_lba") = 0,
                py::arg("blocks_per_io") = 8, py::arg("queue_depth") = 1, py::arg("random") = false,
                py::arg("seed") = 1, py::arg("max_ios") = 0, py::arg("seconds") = 0.0,
                py::arg("writer_id") = 1, py::arg("read_percent") = 50,
                py::arg("retry_unit_attention") = true,
                "Session.start_io over the multipath device: the commands go to the paths the "
                "selector picks and fail over as the device decides. block_size 0: the LU's. "
                "`lun` is ignored (each path has its own).");

  m.def("encode_blocks", &encode, py::arg("first_lba"), py::arg("blocks"), py::arg("block_size"),
        py::arg("generation"),
        "`blocks` blocks of the workload's block pattern for LBAs first_lba, first_lba + 1, ...");
  m.def("decode_blocks", &decode, py::arg("data"), py::arg("block_size"),
        "Classifies each block of `data` (any contiguous buffer): tuples (kind, lba, generation) "
        "with kind \"unwritten\" (no pattern), \"intact\" (lba and generation are what the block "
        "says) or \"corrupt\" (pattern damaged; lba and generation as read). A trailing partial "
        "block is decoded short, never intact.");
}

}  // namespace iscsi::python
