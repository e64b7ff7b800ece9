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

Result<std::string> AskValid(const std::string& question, const std::function<Status(const std::string&)>& check,
                             const std::string& default_answer) {
  std::string shown = default_answer.empty() ? question : question + " [" + default_answer + "]";
  Status last = Status::InvalidArgument("no answer to: " + question);
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::cerr << shown << " " << std::flush;
    std::string answer;
    if (!std::getline(std::cin, answer)) {
      std::cerr << "\n";
      return Status::InvalidArgument("no answer to: " + question, "answer at the prompt, or give the flag");
    }
    if (answer.empty()) answer = default_answer;
    last = check(answer);
    if (last.ok()) return answer;
    std::cerr << "  " << last.message() << (last.hint().empty() ? "" : " (" + last.hint() + ")") << "\n";
  }
  return last;
}

}  // namespace pgk::cli
