#include "common/status.h"

namespace pgk {

int ExitCodeFor(Code code) {
  switch (code) {
    case Code::kOk:
      return 0;
#define PGK_ERROR(name, exit_code, label) \
  case Code::k##name:                     \
    return exit_code;
#include "common/errors.def"
#undef PGK_ERROR
  }
  return 3;
}

const char* CodeLabel(Code code) {
  switch (code) {
    case Code::kOk:
      return "ok";
#define PGK_ERROR(name, exit_code, label) \
  case Code::k##name:                     \
    return label;
#include "common/errors.def"
#undef PGK_ERROR
  }
  return "error";
}

Status Status::WithContext(const std::string& context) const {
  if (ok()) return *this;
  return Status(code_, context + ": " + message_, hint_);
}

Status Status::WithHint(std::string hint) const {
  if (ok()) return *this;
  return Status(code_, message_, std::move(hint));
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  if (hint_.empty()) return message_;
  return message_ + "\nhint: " + hint_;
}

}  // namespace pgk
