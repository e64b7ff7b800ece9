// The memory driver: files in a map inside the process, for tests. It keeps the posix
// driver's semantics (atomic writes visible only after Close(), paths checked the same
// way, List by prefix and sorted) and adds fault injection, so that a test of a command
// can make the repository fill up, fail a close or turn read-only without a real disk.
//
// Each OpenMemoryStorage() call returns a new, empty store: the name only appears in
// Url() ("memory://<name>"). To share a store, share the object.
//
// Thread safety: as Storage; the fault-injection calls may come from any thread. Readers
// and writers may outlive the storage they came from.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"
#include "storage/storage.h"

namespace pgk::storage {

class MemoryStorage : public Storage {
 public:
  explicit MemoryStorage(const std::string& name);

  std::string Url() const override;
  Features features() const override { return {}; }
  Result<std::unique_ptr<Writer>> OpenWrite(const std::string& path, const WriteOptions& options = {}) override;
  Result<std::unique_ptr<Reader>> OpenRead(const std::string& path) override;
  Result<std::optional<FileInfo>> Stat(const std::string& path) override;
  Result<std::vector<FileInfo>> List(const std::string& prefix) override;
  Status Remove(const std::string& path) override;
  Status RemovePrefix(const std::string& prefix) override;

  // Like a disk with `bytes` free: once the bytes passed to Write() (by any writer, counted
  // from this call) would exceed `bytes`, that Write() and every later one fails with
  // `error`, and the failed writer leaves nothing, until ClearFaults().
  void FailWritesAfter(uint64_t bytes, Status error);
  // The next Close() of any writer fails with `error` and leaves nothing.
  void FailNextClose(Status error);
  // While read-only, OpenWrite, Write, Close, Remove and RemovePrefix fail with an IO error
  // (as on a read-only file system); reads still work.
  void SetReadOnly(bool read_only);
  void ClearFaults();
  // The number of files readers can see (an atomic write counts once closed).
  size_t FileCount() const;

  struct State;  // shared with readers and writers

 private:
  std::shared_ptr<State> state_;
};

std::unique_ptr<Storage> OpenMemoryStorage(const std::string& name);

}  // namespace pgk::storage
