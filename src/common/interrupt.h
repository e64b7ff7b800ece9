// SIGINT/SIGTERM/SIGHUP handling. InstallInterruptHandler() blocks those signals in every
// thread and waits for them on a dedicated thread, where ordinary code may run (a plain
// signal handler could not stop a server or close a connection safely). On a signal the
// registered cleanup hooks run, newest first, and the process exits with 128+signal;
// except SIGHUP when a reload handler is set (a daemon's "reread your configuration").
#pragma once

#include <functional>
#include <string>

namespace pgk {

// Call once, early in main(), before any other thread starts (threads inherit the mask).
void InstallInterruptHandler();

// Registers `fn` to run on interrupt; returns an id for RemoveCleanupHook.
int AddCleanupHook(std::function<void()> fn);
void RemoveCleanupHook(int id);

// For a long-running command whose orderly stop on a signal is its normal end (wal-receive):
// a cleanup hook that has stopped it cleanly sets the exit code the process then exits with
// (0) instead of 128+signal.
void SetInterruptExitCode(int code);

// From now on SIGHUP calls `fn` on the signal thread (one call at a time; SIGTERM waits
// for it to return) instead of interrupting the process. Null: SIGHUP interrupts again.
void SetReloadHandler(std::function<void()> fn);

// True once a signal arrived (long loops may poll it to stop early).
bool Interrupted();
// The signal that interrupted us (0 before any), e.g. for a hook that forwards it.
int InterruptSignal();

// Called by main() when the command returns after an interrupt: the signal thread owns
// the exit (it is still running the cleanup hooks), so wait for it instead of racing it.
[[noreturn]] void AwaitInterruptExit();

}  // namespace pgk
