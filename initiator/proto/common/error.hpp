// Error plumbing shared by every area of the protocol core.
//
// Each area (pdu, text, login, auth, scsi, ...) declares its own `enum class Errc` plus two free
// functions found by argument-dependent lookup:
//     const char* category_name(Errc) noexcept;    // e.g. "iscsi.pdu"
//     std::string_view describe(Errc) noexcept;    // one line in words
// and opts in with ISCSI_DECLARE_ERROR_ENUM(ns::Errc) at global scope. Errors then travel as
// std::error_code with a category that prints the area and the message; proto never throws.
#pragma once

#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>

namespace iscsi::detail {

template <class E>
class EnumErrorCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return category_name(E{}); }
  std::string message(int value) const override {
    return std::string(describe(static_cast<E>(value)));
  }
};

template <class E>
const std::error_category& error_category_of() noexcept {
  static const EnumErrorCategory<E> category;
  return category;
}

}  // namespace iscsi::detail

// Use at global scope after the enum's declarations.
#define ISCSI_DECLARE_ERROR_ENUM(EnumType)                                               \
  template <>                                                                            \
  struct std::is_error_code_enum<EnumType> : std::true_type {};

namespace iscsi {

// Found by ADL for every area's Errc (they live in sub-namespaces of iscsi; the lookup of
// make_error_code happens in the enum's namespace, so each area re-exports this with a using).
template <class E>
  requires std::is_enum_v<E>
std::error_code make_error_code(E e) noexcept {
  return {static_cast<int>(e), detail::error_category_of<E>()};
}

}  // namespace iscsi
