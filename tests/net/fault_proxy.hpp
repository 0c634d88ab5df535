// FaultProxy: a test-only TCP proxy on 127.0.0.1 between the initiator and a real target, with
// faults the test switches on: cut() resets every open connection, blackhole(true) stops moving
// bytes both ways while keeping the sockets open (a frozen target), refuse(true) closes new
// connections as soon as they are accepted. Runs on its own io_context thread.
#pragma once

// <utility> first: Boost 1.74 asio/awaitable.hpp uses std::exchange without including it.
#include <utility>

#include <boost/asio.hpp>

#include <array>
#include <atomic>
#include <cstdint>
#include <future>
#include <optional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace iscsi::net::test {

class FaultProxy {
 public:
  FaultProxy(std::string upstream_host, std::uint16_t upstream_port)
      : upstream_(boost::asio::ip::make_address(upstream_host), upstream_port),
        acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~FaultProxy() {
    boost::asio::post(io_, [this] {
      boost::system::error_code ec;
      acceptor_.close(ec);
      for (auto& p : pairs_) p->close();
      pairs_.clear();
    });
    work_.reset();
    thread_.join();
  }
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  std::string portal() const { return "127.0.0.1:" + std::to_string(port()); }

  // Resets every open connection (RST: SO_LINGER 0), like a target or path dying.
  void cut() {
    run_sync([this] {
      for (auto& p : pairs_) p->close(/*reset=*/true);
      pairs_.clear();
    });
  }
  void blackhole(bool on) {
    blackholed_ = on;
    if (!on) run_sync([this] { for (auto& p : pairs_) p->resume(); });
  }
  void refuse(bool on) { refuse_ = on; }
  // Flips one byte in the middle of the next target->initiator chunk of at least `min_chunk`
  // bytes (a large Data-In), as a bad NIC or path would: the digests must catch it.
  void corrupt_next_from_target(std::size_t min_chunk = 4096) { corrupt_min_ = min_chunk; }
  std::uint64_t accepted() const { return accepted_; }

 private:
  using tcp = boost::asio::ip::tcp;

  struct Pair : std::enable_shared_from_this<Pair> {
    Pair(boost::asio::io_context& io, const std::atomic<bool>& flag,
         std::atomic<std::size_t>* corrupt)
        : a(io), b(io), blackholed(flag), corrupt_min(corrupt) {}
    tcp::socket a;  // initiator side
    tcp::socket b;  // target side
    const std::atomic<bool>& blackholed;
    std::atomic<std::size_t>* corrupt_min;
    std::array<std::uint8_t, 65536> ab{}, ba{};
    bool closed = false;
    bool paused_ab = false, paused_ba = false;
    std::size_t held_ab = 0, held_ba = 0;

    void start() {
      read(a, b, ab, paused_ab, held_ab);
      read(b, a, ba, paused_ba, held_ba);
    }
    void read(tcp::socket& from, tcp::socket& to, std::array<std::uint8_t, 65536>& buf,
              bool& paused, std::size_t& held) {
      from.async_read_some(boost::asio::buffer(buf),
                           [self = shared_from_this(), &from, &to, &buf, &paused, &held](
                               boost::system::error_code ec, std::size_t n) {
                             if (self->closed) return;
                             if (ec) return self->close();
                             if (self->blackholed) {
                               // Swallow nothing: hold the bytes until resume() (or drop them
                               // when the connection is cut).
                               paused = true;
                               held = n;
                               return;
                             }
                             std::size_t want = self->corrupt_min->load();
                             if (&from == &self->b && want != 0 && n >= want &&
                                 self->corrupt_min->compare_exchange_strong(
                                     want, std::size_t{0})) {
                               buf[n / 2] ^= 0x5A;
                             }
                             self->forward(from, to, buf, paused, held, n);
                           });
    }
    void forward(tcp::socket& from, tcp::socket& to, std::array<std::uint8_t, 65536>& buf,
                 bool& paused, std::size_t& held, std::size_t n) {
      boost::asio::async_write(to, boost::asio::buffer(buf.data(), n),
                               [self = shared_from_this(), &from, &to, &buf, &paused, &held](
                                   boost::system::error_code ec, std::size_t) {
                                 if (self->closed) return;
                                 if (ec) return self->close();
                                 self->read(from, to, buf, paused, held);
                               });
    }
    void resume() {
      if (closed) return;
      if (paused_ab) {
        paused_ab = false;
        forward(a, b, ab, paused_ab, held_ab, held_ab);
      }
      if (paused_ba) {
        paused_ba = false;
        forward(b, a, ba, paused_ba, held_ba, held_ba);
      }
    }
    void close(bool reset = false) {
      if (closed) return;
      closed = true;
      boost::system::error_code ec;
      if (reset) {
        a.set_option(boost::asio::socket_base::linger(true, 0), ec);
        b.set_option(boost::asio::socket_base::linger(true, 0), ec);
      }
      a.close(ec);
      b.close(ec);
    }
  };

  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket s) {
      if (ec) return;
      ++accepted_;
      if (refuse_) {
        boost::system::error_code ignored;
        s.set_option(boost::asio::socket_base::linger(true, 0), ignored);
        s.close(ignored);
      } else {
        auto p = std::make_shared<Pair>(io_, blackholed_, &corrupt_min_);
        p->a = std::move(s);
        pairs_.push_back(p);
        p->b.async_connect(upstream_, [p](boost::system::error_code ec2) {
          if (ec2) return p->close();
          p->start();
        });
      }
      accept();
    });
  }

  template <class F>
  void run_sync(F f) {
    std::promise<void> done;
    boost::asio::post(io_, [&] {
      f();
      done.set_value();
    });
    done.get_future().get();
  }

  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_{
      io_.get_executor()};
  tcp::endpoint upstream_;
  tcp::acceptor acceptor_;
  std::list<std::shared_ptr<Pair>> pairs_;
  std::thread thread_;
  std::atomic<bool> blackholed_{false};
  std::atomic<bool> refuse_{false};
  std::atomic<std::uint64_t> accepted_{0};
  std::atomic<std::size_t> corrupt_min_{0};
};

}  // namespace iscsi::net::test
