#include "storage/s3/s3_storage.h"

#include <curl/curl.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "common/markup.h"
#include "storage/s3/s3_client.h"
#include "storage/s3/s3_config.h"
#include "storage/s3/s3_writer.h"
#include "storage/s3/sigv4.h"
#include "storage/s3/xml.h"

namespace pgk::storage {

namespace {

using s3::S3Client;
using s3::S3Request;
using s3::S3Response;

// Large enough that per-request latency is amortised, small enough that a retried range
// costs little and memory stays flat.
constexpr uint64_t kReadChunk = 8u << 20;
// DeleteObjects accepts at most 1000 keys per request.
constexpr size_t kDeleteBatch = 1000;

std::optional<uint64_t> ParseU64(const std::string& s) {
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

class S3Reader : public Reader {
 public:
  S3Reader(std::shared_ptr<S3Client> client, std::string key, uint64_t size, std::string etag)
      : client_(std::move(client)), key_(std::move(key)), size_(size), etag_(std::move(etag)) {}

  Result<size_t> Read(char* buf, size_t n) override {
    if (pos_ == chunk_.size()) {
      if (offset_ >= size_) return size_t{0};
      PGK_RETURN_IF_ERROR(Fetch());
    }
    size_t take = std::min(n, chunk_.size() - pos_);
    std::memcpy(buf, chunk_.data() + pos_, take);
    pos_ += take;
    return take;
  }

 private:
  // One ranged GET, retried on its own by the client. If-Match makes a concurrent
  // overwrite fail the read instead of splicing two versions together.
  Status Fetch() {
    uint64_t end = std::min(offset_ + kReadChunk, size_) - 1;
    S3Request req{"GET", key_, {}, {{"range", "bytes=" + std::to_string(offset_) + "-" + std::to_string(end)}}, {}};
    if (!etag_.empty()) req.headers.emplace_back("if-match", etag_);
    PGK_ASSIGN_OR_RETURN(S3Response r, client_->Send(req));
    if (r.status == 412) {
      return Status::IO("s3 read " + client_->ObjectUrl(key_) + " failed: the object changed while being read");
    }
    if (!r.ok()) return client_->ErrorFor(r, "read", key_);
    uint64_t want = end - offset_ + 1;
    if (r.status == 200 && r.body.size() == size_) {
      r.body = r.body.substr(offset_, want);  // a server that ignores Range sent it all
    }
    if (r.body.size() != want) {
      return Status::IO("s3 read " + client_->ObjectUrl(key_) + " failed: expected " + std::to_string(want) +
                        " bytes at offset " + std::to_string(offset_) + ", got " + std::to_string(r.body.size()));
    }
    chunk_ = std::move(r.body);
    pos_ = 0;
    offset_ += want;
    return Status::Ok();
  }

  const std::shared_ptr<S3Client> client_;
  const std::string key_;
  const uint64_t size_;
  const std::string etag_;
  uint64_t offset_ = 0;  // of the next range to fetch
  std::string chunk_;
  size_t pos_ = 0;  // in chunk_
};

class S3Storage : public Storage {
 public:
  S3Storage(std::shared_ptr<S3Client> client, const StorageOptions& options)
      : client_(std::move(client)), options_(options) {}

  std::string Url() const override { return client_->config().Url(); }
  Features features() const override { return {.real_directories = false, .append = false}; }

  Result<std::unique_ptr<Writer>> OpenWrite(const std::string& path, const WriteOptions&) override {
    PGK_RETURN_IF_ERROR(CheckPath(path, PathKind::kFile));
    // S3 writes are always atomic and durable once complete, whatever the options ask.
    PGK_ASSIGN_OR_RETURN(std::string key, Key(path));
    return s3::NewS3Writer(client_, key, options_.s3_part_size, options_.s3_parallel);
  }

  Result<std::unique_ptr<Reader>> OpenRead(const std::string& path) override {
    PGK_RETURN_IF_ERROR(CheckPath(path, PathKind::kFile));
    PGK_ASSIGN_OR_RETURN(std::string key, Key(path));
    PGK_ASSIGN_OR_RETURN(S3Response r, client_->Send({"HEAD", key, {}, {}, {}}));
    if (!r.ok()) return client_->ErrorFor(r, "read", key);
    auto size = ParseU64(r.Header("content-length"));
    if (!size) return Status::IO("s3 read " + client_->ObjectUrl(key) + " failed: no Content-Length");
    std::unique_ptr<Reader> reader = std::make_unique<S3Reader>(client_, key, *size, r.Header("etag"));
    return reader;
  }

  Result<std::optional<FileInfo>> Stat(const std::string& path) override {
    PGK_RETURN_IF_ERROR(CheckPath(path, PathKind::kFile));
    PGK_ASSIGN_OR_RETURN(std::string key, Key(path));
    PGK_ASSIGN_OR_RETURN(S3Response r, client_->Send({"HEAD", key, {}, {}, {}}));
    if (r.status == 404) return std::optional<FileInfo>();
    if (!r.ok()) return client_->ErrorFor(r, "stat", key);
    FileInfo info{path, ParseU64(r.Header("content-length")).value_or(0), 0};
    std::string lm = r.Header("last-modified");
    if (!lm.empty()) info.mtime_s = std::max<int64_t>(0, curl_getdate(lm.c_str(), nullptr));
    return std::optional<FileInfo>(std::move(info));
  }

  Result<std::vector<FileInfo>> List(const std::string& prefix) override {
    PGK_RETURN_IF_ERROR(CheckPath(prefix, PathKind::kPrefix));
    const std::string& root = client_->config().prefix;
    std::vector<FileInfo> out;
    std::string token;
    do {
      S3Request req{"GET", "", {{"list-type", "2"}, {"prefix", root + prefix}}, {}, {}};
      if (!token.empty()) req.query.emplace_back("continuation-token", token);
      PGK_ASSIGN_OR_RETURN(S3Response r, client_->Send(req));
      if (!r.ok()) return client_->ErrorFor(r, "list", root + prefix);
      auto page = s3::ParseListObjectsV2(r.body);
      if (!page) return Status::IO("s3 list " + client_->ObjectUrl(root + prefix) + " failed: unreadable answer");
      for (auto& obj : page->objects) {
        // Keys ending in '/' are "folder" markers made by consoles, not files.
        if (obj.key.size() <= root.size() || obj.key.back() == '/') continue;
        out.push_back({obj.key.substr(root.size()), obj.size, obj.mtime_s});
      }
      token = page->truncated ? page->next_token : "";
    } while (!token.empty());
    std::sort(out.begin(), out.end(), [](const FileInfo& a, const FileInfo& b) { return a.path < b.path; });
    return out;
  }

  Status Remove(const std::string& path) override {
    PGK_RETURN_IF_ERROR(CheckPath(path, PathKind::kFile));
    PGK_ASSIGN_OR_RETURN(std::string key, Key(path));
    PGK_ASSIGN_OR_RETURN(S3Response r, client_->Send({"DELETE", key, {}, {}, {}}));
    if (r.ok() || r.status == 404) return Status::Ok();
    return client_->ErrorFor(r, "delete", key);
  }

  Status RemovePrefix(const std::string& prefix) override {
    PGK_RETURN_IF_ERROR(CheckPath(prefix, PathKind::kPrefix));
    PGK_ASSIGN_OR_RETURN(auto files, List(prefix));
    const std::string& root = client_->config().prefix;
    for (size_t i = 0; i < files.size(); i += kDeleteBatch) {
      std::string body = "<Delete><Quiet>true</Quiet>";
      for (size_t j = i; j < std::min(files.size(), i + kDeleteBatch); ++j) {
        body += "<Object><Key>" + EscapeMarkup(root + files[j].path) + "</Key></Object>";
      }
      body += "</Delete>";
      S3Request req{"POST",
                    "",
                    {{"delete", ""}},
                    {{"content-md5", s3::Md5Base64(body)}, {"content-type", "application/xml"}},
                    body};
      PGK_ASSIGN_OR_RETURN(S3Response r, client_->Send(req));
      if (r.status == 501) {
        // Some S3-compatible servers lack DeleteObjects: fall back to one request per key.
        for (size_t j = i; j < std::min(files.size(), i + kDeleteBatch); ++j)
          PGK_RETURN_IF_ERROR(Remove(files[j].path));
        continue;
      }
      if (!r.ok()) return client_->ErrorFor(r, "delete", root + prefix);
      // Quiet mode lists only the keys that could not be deleted.
      auto errors = s3::XmlElements(r.body, "Error");
      if (!errors.empty()) {
        std::string key = s3::XmlText(errors.front(), "Key").value_or("?");
        std::string code = s3::XmlText(errors.front(), "Code").value_or("?");
        return Status::IO("s3 delete " + client_->ObjectUrl(key) + " failed: " + code + " (" +
                          std::to_string(errors.size()) + " keys not deleted)");
      }
    }
    return Status::Ok();
  }

 private:
  Result<std::string> Key(const std::string& path) const {
    if (path.empty() || path.front() == '/' || path.back() == '/') {
      return Status::InvalidArgument("bad storage path '" + path + "' for " + Url(),
                                     "paths are relative to the storage root and name a file");
    }
    return client_->config().prefix + path;
  }

  const std::shared_ptr<S3Client> client_;
  const StorageOptions options_;
};

}  // namespace

Result<std::unique_ptr<Storage>> OpenS3Storage(const std::string& url, const StorageOptions& options) {
  if (options.s3_part_size < s3::kMinPartSize || options.s3_part_size > s3::kMaxPartSize) {
    return Status::InvalidArgument("s3 part size " + std::to_string(options.s3_part_size) +
                                   " is outside S3's limits (5 MiB..5 GiB)");
  }
  if (options.s3_parallel < 1 || options.s3_parallel > 64) {
    return Status::InvalidArgument("s3 parallelism " + std::to_string(options.s3_parallel) + " is not in 1..64");
  }
  if (options.s3_max_retries < 0) return Status::InvalidArgument("s3 retries must not be negative");
  PGK_ASSIGN_OR_RETURN(s3::S3Config config, s3::LoadS3Config(url, s3::ProcessEnv()));
  auto client = std::make_shared<S3Client>(std::move(config), options.s3_max_retries);
  std::unique_ptr<Storage> storage = std::make_unique<S3Storage>(std::move(client), options);
  return storage;
}

}  // namespace pgk::storage
