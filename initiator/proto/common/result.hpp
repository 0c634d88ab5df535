// Result<T>: a value or an std::error_code, the return type of every fallible proto call.
// (std::expected is C++23; this is the small subset the core needs.) Calls that return nothing
// on success return a plain std::error_code, where "false" means success.
#pragma once

#include <cassert>
#include <system_error>
#include <utility>
#include <variant>

namespace iscsi {

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit
  Result(std::error_code ec) : state_(std::in_place_index<1>, ec) {      // NOLINT: implicit
    assert(ec && "a Result error must be a real error");
  }
  template <class E>
    requires std::is_error_code_enum_v<E>
  Result(E e) : Result(std::error_code(make_error_code(e))) {}  // NOLINT: implicit

  bool has_value() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  T& value() & { assert(has_value()); return std::get<0>(state_); }
  const T& value() const& { assert(has_value()); return std::get<0>(state_); }
  T&& value() && { assert(has_value()); return std::get<0>(std::move(state_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  std::error_code error() const noexcept {
    return has_value() ? std::error_code{} : std::get<1>(state_);
  }

 private:
  std::variant<T, std::error_code> state_;
};

}  // namespace iscsi
