// Process-wide: whether children started by Process::Spawn keep only stdin, stdout and
// stderr. Off by default; a long-running parent (serve) turns it on so that descriptors
// opened without O_CLOEXEC by libraries (cpp-httplib's listening socket and client
// connections) never leak into its jobs, where they would outlive serve or hold a client
// connection open.
#pragma once

namespace pgk {

void SetChildrenInheritOnlyStdio(bool on);
bool ChildrenInheritOnlyStdio();

}  // namespace pgk
