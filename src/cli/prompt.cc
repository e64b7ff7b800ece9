#include "cli/prompt.h"

#include <unistd.h>

#include <iostream>

namespace pgk::cli {

Status Confirm(const Context& ctx, const std::string& action) { return ConfirmByTyping(ctx, action, "yes"); }

Status ConfirmByTyping(const Context& ctx, const std::string& action, const std::string& expected) {
  if (ctx.options.yes) return Status::Ok();
  if (isatty(STDIN_FILENO) == 0 || isatty(STDERR_FILENO) == 0) {
    return Status::Refused(action + " needs confirmation", "add --yes to confirm when running without a terminal");
  }
  std::cerr << action << ".\nType '" << expected << "' to continue: " << std::flush;
  std::string answer;
  if (!std::getline(std::cin, answer) || answer != expected) {
    return Status::Refused("not confirmed: " + action, "type '" + expected + "' at the prompt, or pass --yes");
  }
  return Status::Ok();
}

}  // namespace pgk::cli
