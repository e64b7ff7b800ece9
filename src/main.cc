// pgkeeper: argv -> command table -> exit code.
#include <csignal>
#include <exception>
#include <iostream>

#include "cli/commands.h"
#include "common/interrupt.h"

int main(int argc, char** argv) {
  // Before any thread exists, so every thread inherits the blocked signal mask.
  pgk::InstallInterruptHandler();
  std::signal(SIGPIPE, SIG_IGN);
  try {
    int code = pgk::cli::RunCli(argc, argv);
    if (pgk::Interrupted()) pgk::AwaitInterruptExit();
    return code;
  } catch (const std::exception& e) {
    // A bug, not a user error: no stack trace, but a message that can be reported.
    std::cerr << "error: internal error: " << e.what() << "\nhint: please report this with the command you ran\n";
    return 3;
  }
}
