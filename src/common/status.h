// Errors as values (after LevelDB's Status): every fallible call returns a Status or a
// Result<T>. A Status carries a code from errors.def (which fixes the exit code), a
// message that says what failed on which object, and an optional hint that says what the
// user can do about it. Messages are lowercase with no final period (pgBackRest style).
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace pgk {

enum class Code {
  kOk = 0,
#define PGK_ERROR(name, exit_code, label) k##name,
#include "common/errors.def"
#undef PGK_ERROR
};

// Exit code a command returns when it fails with `code` (0 for kOk).
int ExitCodeFor(Code code);
const char* CodeLabel(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(Code code, std::string message, std::string hint = {})
      : code_(code), message_(std::move(message)), hint_(std::move(hint)) {}

  static Status Ok() { return {}; }
#define PGK_ERROR(name, exit_code, label)                                 \
  static Status name(std::string message, std::string hint = {}) {        \
    return Status(Code::k##name, std::move(message), std::move(hint));    \
  }
#include "common/errors.def"
#undef PGK_ERROR

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  const std::string& hint() const { return hint_; }
  int exit_code() const { return ExitCodeFor(code_); }

  // Prefixes context ("while X: ") to the message, keeping code and hint.
  Status WithContext(const std::string& context) const;
  Status WithHint(std::string hint) const;
  // "message" or "message\nhint: hint".
  std::string ToString() const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
  std::string hint_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {}  // NOLINT: implicit by design

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }
  T&& operator*() && { return std::move(*value_); }

 private:
  std::optional<T> value_;
  Status status_;
};

#define PGK_RETURN_IF_ERROR(expr)            \
  do {                                       \
    ::pgk::Status pgk_status_ = (expr);      \
    if (!pgk_status_.ok()) return pgk_status_; \
  } while (0)

#define PGK_CONCAT_INNER(a, b) a##b
#define PGK_CONCAT(a, b) PGK_CONCAT_INNER(a, b)
#define PGK_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()
#define PGK_ASSIGN_OR_RETURN(lhs, expr) \
  PGK_ASSIGN_OR_RETURN_IMPL(PGK_CONCAT(pgk_result_, __LINE__), lhs, expr)

}  // namespace pgk
