#include "storage/memory/memory_storage.h"

#include <algorithm>
#include <ctime>
#include <map>
#include <mutex>

namespace pgk::storage {

struct MemoryStorage::State {
  struct File {
    // Shared so that a reader keeps reading what it opened when the file is replaced.
    std::shared_ptr<std::string> data;
    int64_t mtime_s = 0;
  };

  std::string url;
  mutable std::mutex mu;
  // Everything below is guarded by mu, including the contents of the strings in files.
  std::map<std::string, File> files;
  std::optional<uint64_t> write_limit;
  uint64_t written = 0;  // since FailWritesAfter()
  bool disk_full = false;
  Status write_error;
  std::optional<Status> next_close_error;
  bool read_only = false;

  // REQUIRES: mu is held
  Status CheckWritable(const std::string& path) const {
    if (!read_only) return Status::Ok();
    return Status::IO("cannot write " + url + "/" + path + ": read-only file system",
                      url + " is on a read-only file system");
  }
};

namespace {

class MemoryWriter : public Writer {
 public:
  MemoryWriter(std::shared_ptr<MemoryStorage::State> state, std::string path, WriteOptions options,
               std::shared_ptr<std::string> live)
      : state_(std::move(state)), path_(std::move(path)), options_(options), live_(std::move(live)) {}
  ~MemoryWriter() override { Abort(); }

  Status Write(std::string_view data) override {
    if (done_) return Status::Internal("write after close or error on " + state_->url + "/" + path_);
    Status s;
    {
      std::lock_guard lock(state_->mu);
      s = state_->CheckWritable(path_);
      if (s.ok() && state_->write_limit) {
        if (state_->disk_full || state_->written + data.size() > *state_->write_limit) {
          state_->disk_full = true;
          s = state_->write_error;
        } else {
          state_->written += data.size();
        }
      }
      if (s.ok()) (options_.atomic ? buffer_ : *live_).append(data);
    }
    if (!s.ok()) return Fail(s);
    bytes_ += data.size();
    return Status::Ok();
  }

  Status Close() override {
    if (done_) return Status::Internal("close after close or error on " + state_->url + "/" + path_);
    Status s;
    {
      std::lock_guard lock(state_->mu);
      if (state_->next_close_error) {
        s = *state_->next_close_error;
        state_->next_close_error.reset();
      } else {
        s = state_->CheckWritable(path_);
      }
      if (s.ok()) {
        auto& f = state_->files[path_];
        // Non-atomic: the entry may have been removed or replaced meanwhile; the last Close() wins.
        f.data = options_.atomic ? std::make_shared<std::string>(std::move(buffer_)) : live_;
        f.mtime_s = std::time(nullptr);
        done_ = true;
      }
    }
    if (!s.ok()) return Fail(s);
    return Status::Ok();
  }

  void Abort() override {
    if (done_) return;
    done_ = true;
    buffer_.clear();
    if (options_.atomic) return;
    // A non-atomic write was visible as it went; remove it unless another writer has
    // replaced it since.
    std::lock_guard lock(state_->mu);
    auto it = state_->files.find(path_);
    if (it != state_->files.end() && it->second.data == live_) state_->files.erase(it);
  }

  uint64_t bytes_written() const override { return bytes_; }

 private:
  Status Fail(Status s) {
    Abort();
    return s;
  }

  std::shared_ptr<MemoryStorage::State> state_;
  std::string path_;
  WriteOptions options_;
  std::shared_ptr<std::string> live_;  // non-atomic: the file in the map, written in place
  std::string buffer_;                 // atomic: the whole file, published by Close()
  uint64_t bytes_ = 0;
  bool done_ = false;
};

class MemoryReader : public Reader {
 public:
  MemoryReader(std::shared_ptr<MemoryStorage::State> state, std::shared_ptr<std::string> data)
      : state_(std::move(state)), data_(std::move(data)) {}

  Result<size_t> Read(char* buf, size_t n) override {
    std::lock_guard lock(state_->mu);  // a non-atomic writer may be appending
    size_t count = std::min(n, data_->size() - std::min(offset_, data_->size()));
    data_->copy(buf, count, offset_);
    offset_ += count;
    return count;
  }

 private:
  std::shared_ptr<MemoryStorage::State> state_;
  std::shared_ptr<std::string> data_;
  size_t offset_ = 0;
};

}  // namespace

MemoryStorage::MemoryStorage(const std::string& name) : state_(std::make_shared<State>()) {
  state_->url = "memory://" + name;
}

std::string MemoryStorage::Url() const { return state_->url; }

Result<std::unique_ptr<Writer>> MemoryStorage::OpenWrite(const std::string& path, const WriteOptions& options) {
  PGK_RETURN_IF_ERROR(CheckPath(path, PathKind::kFile));
  std::lock_guard lock(state_->mu);
  PGK_RETURN_IF_ERROR(state_->CheckWritable(path));
  std::shared_ptr<std::string> live;
  if (!options.atomic) {
    // Like O_TRUNC: the old contents are gone as soon as the write starts.
    live = std::make_shared<std::string>();
    state_->files[path] = State::File{.data = live, .mtime_s = std::time(nullptr)};
  }
  return std::unique_ptr<Writer>(new MemoryWriter(state_, path, options, std::move(live)));
}

Result<std::unique_ptr<Reader>> MemoryStorage::OpenRead(const std::string& path) {
  PGK_RETURN_IF_ERROR(CheckPath(path, PathKind::kFile));
  std::lock_guard lock(state_->mu);
  auto it = state_->files.find(path);
  if (it == state_->files.end()) return Status::NotFound("file not found: " + state_->url + "/" + path);
  return std::unique_ptr<Reader>(new MemoryReader(state_, it->second.data));
}

Result<std::optional<FileInfo>> MemoryStorage::Stat(const std::string& path) {
  PGK_RETURN_IF_ERROR(CheckPath(path, PathKind::kFile));
  std::lock_guard lock(state_->mu);
  auto it = state_->files.find(path);
  if (it == state_->files.end()) return std::optional<FileInfo>();
  return std::optional<FileInfo>(
      FileInfo{.path = path, .size = it->second.data->size(), .mtime_s = it->second.mtime_s});
}

Result<std::vector<FileInfo>> MemoryStorage::List(const std::string& prefix) {
  PGK_RETURN_IF_ERROR(CheckPath(prefix, PathKind::kPrefix));
  std::lock_guard lock(state_->mu);
  std::vector<FileInfo> out;
  for (auto it = state_->files.lower_bound(prefix); it != state_->files.end() && it->first.starts_with(prefix); ++it) {
    out.push_back({.path = it->first, .size = it->second.data->size(), .mtime_s = it->second.mtime_s});
  }
  return out;
}

Status MemoryStorage::Remove(const std::string& path) {
  PGK_RETURN_IF_ERROR(CheckPath(path, PathKind::kFile));
  std::lock_guard lock(state_->mu);
  PGK_RETURN_IF_ERROR(state_->CheckWritable(path));
  state_->files.erase(path);
  return Status::Ok();
}

Status MemoryStorage::RemovePrefix(const std::string& prefix) {
  PGK_RETURN_IF_ERROR(CheckPath(prefix, PathKind::kPrefix));
  std::lock_guard lock(state_->mu);
  PGK_RETURN_IF_ERROR(state_->CheckWritable(prefix));
  auto first = state_->files.lower_bound(prefix);
  auto last = first;
  while (last != state_->files.end() && last->first.starts_with(prefix)) ++last;
  state_->files.erase(first, last);
  return Status::Ok();
}

void MemoryStorage::FailWritesAfter(uint64_t bytes, Status error) {
  std::lock_guard lock(state_->mu);
  if (error.ok()) error = Status::IO("no space left on device", "the memory storage's injected disk is full");
  state_->write_limit = bytes;
  state_->written = 0;
  state_->disk_full = false;
  state_->write_error = std::move(error);
}

void MemoryStorage::FailNextClose(Status error) {
  std::lock_guard lock(state_->mu);
  state_->next_close_error = std::move(error);
}

void MemoryStorage::SetReadOnly(bool read_only) {
  std::lock_guard lock(state_->mu);
  state_->read_only = read_only;
}

void MemoryStorage::ClearFaults() {
  std::lock_guard lock(state_->mu);
  state_->write_limit.reset();
  state_->disk_full = false;
  state_->next_close_error.reset();
  state_->read_only = false;
}

size_t MemoryStorage::FileCount() const {
  std::lock_guard lock(state_->mu);
  return state_->files.size();
}

std::unique_ptr<Storage> OpenMemoryStorage(const std::string& name) { return std::make_unique<MemoryStorage>(name); }

}  // namespace pgk::storage
