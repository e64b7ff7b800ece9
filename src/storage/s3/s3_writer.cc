#include "storage/s3/s3_writer.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "common/log.h"
#include "common/markup.h"
#include "storage/s3/xml.h"

namespace pgk::storage::s3 {

namespace {

class S3Writer : public Writer {
 public:
  S3Writer(std::shared_ptr<S3Client> client, std::string key, size_t part_size, int parallel)
      : client_(std::move(client)), key_(std::move(key)), part_size_(part_size), parallel_(parallel) {}
  ~S3Writer() override {
    if (!done_) Abort();
  }

  Status Write(std::string_view data) override {
    if (done_) return Status::Internal("write to a closed or failed writer for " + client_->ObjectUrl(key_));
    while (!data.empty()) {
      size_t take = std::min(part_size_ - buffer_.size(), data.size());
      if (buffer_.capacity() < buffer_.size() + take) {
        // Grow geometrically but never past one part: the memory bound is in parts.
        buffer_.reserve(std::min(part_size_, std::max(buffer_.size() + take, 2 * buffer_.capacity())));
      }
      buffer_.append(data.substr(0, take));
      data.remove_prefix(take);
      bytes_ += take;
      if (buffer_.size() == part_size_) {
        if (Status s = Dispatch(); !s.ok()) return Fail(s);
      }
    }
    return Status::Ok();
  }

  Status Close() override {
    if (done_) return Status::Internal("close of a closed or failed writer for " + client_->ObjectUrl(key_));
    if (upload_id_.empty()) {
      // Smaller than one part: one request, and S3 makes it visible atomically.
      S3Request req{"PUT", key_, {}, {}, buffer_};
      auto r = client_->Send(req);
      if (!r.ok()) return Fail(r.status());
      if (!r->ok()) return Fail(client_->ErrorFor(*r, "write", key_));
      done_ = true;
      buffer_ = std::string();
      return Status::Ok();
    }
    if (!buffer_.empty()) {
      if (Status s = Dispatch(); !s.ok()) return Fail(s);
    }
    Status failed;
    {
      std::unique_lock lock(mu_);
      idle_cv_.wait(lock, [&] { return in_flight_ == 0 || !error_.ok(); });
      failed = error_;
    }
    if (!failed.ok()) return Fail(failed);
    StopWorkers();
    std::string body = "<CompleteMultipartUpload>";
    for (size_t i = 0; i < etags_.size(); ++i) {
      body += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" + EscapeMarkup(etags_[i]) +
              "</ETag></Part>";
    }
    body += "</CompleteMultipartUpload>";
    S3Request req{"POST", key_, {{"uploadId", upload_id_}}, {{"content-type", "application/xml"}}, body};
    auto r = client_->Send(req);
    if (!r.ok()) return Fail(r.status());
    // CompleteMultipartUpload may fail after its 200 header was sent: the error is then
    // in the body, so a 200 alone does not mean the object exists.
    if (!r->ok() || r->body.find("<Error>") != std::string::npos) {
      if (r->ok()) r->status = 500;
      return Fail(client_->ErrorFor(*r, "write", key_));
    }
    done_ = true;
    return Status::Ok();
  }

  void Abort() override {
    if (done_) return;
    done_ = true;
    StopWorkers();
    buffer_ = std::string();
    if (upload_id_.empty()) return;
    S3Request req{"DELETE", key_, {{"uploadId", upload_id_}}, {}, {}};
    auto r = client_->Send(req);
    Status s = !r.ok()                         ? r.status()
               : (r->ok() || r->status == 404) ? Status::Ok()
                                               : client_->ErrorFor(*r, "abort", key_);
    if (!s.ok()) {
      // The object never became visible; only the uploaded parts linger (and are billed).
      log::Warn(
          "cannot abort multipart upload of {}: {} (hint: a bucket lifecycle rule "
          "AbortIncompleteMultipartUpload removes leftover parts)",
          client_->ObjectUrl(key_), s.message());
    }
  }

  uint64_t bytes_written() const override { return bytes_; }

 private:
  Status Fail(Status s) {
    Abort();
    return s;
  }

  Status StartUpload() {
    S3Request req{"POST", key_, {{"uploads", ""}}, {}, {}};
    PGK_ASSIGN_OR_RETURN(S3Response r, client_->Send(req));
    if (!r.ok()) return client_->ErrorFor(r, "write", key_);
    upload_id_ = XmlText(r.body, "UploadId").value_or("");
    if (upload_id_.empty()) {
      return Status::IO("s3 write " + client_->ObjectUrl(key_) + " failed: no UploadId in the server's answer");
    }
    for (int i = 0; i < parallel_; ++i) workers_.emplace_back([this] { Work(); });
    return Status::Ok();
  }

  // Queues the full buffer as the next part, blocking while `parallel_` parts are queued
  // or uploading.
  Status Dispatch() {
    if (upload_id_.empty()) PGK_RETURN_IF_ERROR(StartUpload());
    std::unique_lock lock(mu_);
    if (static_cast<int>(etags_.size()) >= kMaxParts) {
      return Status::IO("s3 write " + client_->ObjectUrl(key_) + " failed: more than 10000 parts",
                        "raise the s3 part size (the largest object is 10000 x part size)");
    }
    idle_cv_.wait(lock, [&] { return in_flight_ < parallel_ || !error_.ok(); });
    if (!error_.ok()) return error_;
    etags_.emplace_back();
    queue_.emplace_back(static_cast<int>(etags_.size()), std::move(buffer_));
    ++in_flight_;
    work_cv_.notify_one();
    lock.unlock();
    buffer_ = std::string();
    buffer_.reserve(part_size_);
    return Status::Ok();
  }

  void Work() {
    for (;;) {
      std::pair<int, std::string> part;
      {
        std::unique_lock lock(mu_);
        work_cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stop_
        part = std::move(queue_.front());
        queue_.pop_front();
      }
      S3Request req{
          "PUT", key_, {{"partNumber", std::to_string(part.first)}, {"uploadId", upload_id_}}, {}, part.second};
      auto r = client_->Send(req);
      Status s = !r.ok() ? r.status() : r->ok() ? Status::Ok() : client_->ErrorFor(*r, "write", key_);
      std::string etag = r.ok() ? r->Header("etag") : "";
      if (s.ok() && etag.empty()) s = Status::IO("s3 write " + client_->ObjectUrl(key_) + " failed: part without ETag");
      std::lock_guard lock(mu_);
      if (s.ok()) {
        etags_[part.first - 1] = etag;
      } else if (error_.ok()) {
        error_ = s;
      }
      --in_flight_;
      idle_cv_.notify_all();
    }
  }

  void StopWorkers() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
      in_flight_ -= static_cast<int>(queue_.size());
      queue_.clear();
    }
    work_cv_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

  const std::shared_ptr<S3Client> client_;
  const std::string key_;
  const size_t part_size_;
  const int parallel_;
  std::string buffer_;  // the part being filled (owned by the caller's thread)
  std::string upload_id_;
  uint64_t bytes_ = 0;
  bool done_ = false;

  std::mutex mu_;
  std::condition_variable work_cv_;                // a part was queued, or stop_
  std::condition_variable idle_cv_;                // a part finished
  std::deque<std::pair<int, std::string>> queue_;  // REQUIRES: mu_ held
  std::vector<std::string> etags_;                 // by part number - 1; REQUIRES: mu_ held
  int in_flight_ = 0;                              // queued + uploading; REQUIRES: mu_ held
  Status error_;                                   // first part failure; REQUIRES: mu_ held
  bool stop_ = false;                              // REQUIRES: mu_ held
  std::vector<std::thread> workers_;
};

}  // namespace

std::unique_ptr<Writer> NewS3Writer(std::shared_ptr<S3Client> client, std::string key, size_t part_size, int parallel) {
  return std::make_unique<S3Writer>(std::move(client), std::move(key), part_size, parallel);
}

}  // namespace pgk::storage::s3
