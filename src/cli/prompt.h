// Confirmation for destructive actions: --yes confirms; otherwise, on a terminal, the
// user must type `yes` (or, for the most destructive ones, the name of what is destroyed);
// without a terminal (CI, cron, pipes) the action is refused.
#pragma once

#include <functional>
#include <string>

#include "cli/context.h"

namespace pgk::cli {

// OK when confirmed; a Refused error (exit 2) naming --yes otherwise.
Status Confirm(const Context& ctx, const std::string& action);

// Like Confirm, but the user must type `expected` (e.g. the database about to be
// replaced), which a reflexive "yes" does not.
Status ConfirmByTyping(const Context& ctx, const std::string& action, const std::string& expected);

// Asks `question` on the terminal until `check` accepts the answer (its error is shown and
// the question asked again, three times at most). An empty answer stands for
// `default_answer` when there is one. End of input or three refusals fail with the last
// reason, so a guided command stops instead of running on a half-understood answer.
Result<std::string> AskValid(const std::string& question, const std::function<Status(const std::string&)>& check,
                             const std::string& default_answer = "");

}  // namespace pgk::cli
