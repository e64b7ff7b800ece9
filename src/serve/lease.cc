#include "serve/lease.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/hash.h"

namespace pgk::serve {

namespace {

double WallNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

std::string ScheduleLease::DescribeHolder() const {
  if (!holder_) return "another serve";
  const LeaseHolder& h = *holder_;
  return h.host + ", pid " + std::to_string(h.pid) + ", renewed " +
         std::to_string(static_cast<int64_t>(std::max(0.0, std::round(now_() - h.renewed)))) + " s ago";
}

ScheduleLease::ScheduleLease(storage::Storage& storage, std::string host, double ttl_s, std::function<double()> now,
                             std::function<void(double)> sleep)
    : storage_(storage),
      host_(std::move(host)),
      id_(host_ + ":" + std::to_string(::getpid()) + ":" + RandomHex(4)),
      ttl_s_(ttl_s),
      now_(now ? std::move(now) : WallNow),
      sleep_(sleep ? std::move(sleep) : [](double s) { std::this_thread::sleep_for(std::chrono::duration<double>(s)); }) {}

Result<std::optional<LeaseHolder>> ScheduleLease::Read() {
  auto text = storage_.Get(kLeasePath);
  if (!text.ok() && text.status().code() == Code::kNotFound) return std::optional<LeaseHolder>();
  if (!text.ok()) return text.status();
  auto j = nlohmann::json::parse(*text, nullptr, false);
  // A damaged lease is nobody's: the next writer replaces it.
  if (!j.is_object() || !j.contains("id") || !j["id"].is_string()) return std::optional<LeaseHolder>();
  LeaseHolder h;
  h.id = j["id"];
  h.host = j.value("host", "");
  h.pid = j.value("pid", int64_t{0});
  h.acquired = j.value("acquired", 0.0);
  h.renewed = j.value("renewed", 0.0);
  h.ttl_s = j.value("ttl_seconds", ttl_s_);
  return std::optional<LeaseHolder>(std::move(h));
}

Status ScheduleLease::Write(double acquired) {
  nlohmann::json j = {{"id", id_},           {"host", host_},      {"pid", static_cast<int64_t>(::getpid())},
                      {"acquired", acquired}, {"renewed", now_()}, {"ttl_seconds", ttl_s_}};
  return storage_.Put(kLeasePath, j.dump() + "\n");
}

Result<bool> ScheduleLease::TryAcquire() {
  PGK_ASSIGN_OR_RETURN(auto current, Read());
  double now = now_();
  if (current && current->id != id_) {
    // The holder's own ttl counts: a serve configured with a longer one is not cut short.
    double ttl = std::max(ttl_s_, current->ttl_s);
    if (now - current->renewed < ttl) {
      holder_ = current;
      return false;
    }
  }
  acquired_ = current && current->id == id_ ? current->acquired : now;
  PGK_RETURN_IF_ERROR(Write(acquired_));
  // Another serve that read the same free lease writes within milliseconds of us: wait
  // for its write to land, then see whose stayed.
  sleep_(std::min(2.0, ttl_s_ / 4));
  PGK_ASSIGN_OR_RETURN(auto after, Read());
  if (after && after->id == id_) {
    holder_.reset();
    return true;
  }
  holder_ = after;
  return false;
}

Result<bool> ScheduleLease::Renew() {
  PGK_ASSIGN_OR_RETURN(auto current, Read());
  if (current && current->id != id_) {
    holder_ = current;
    return false;
  }
  PGK_RETURN_IF_ERROR(Write(acquired_ > 0 ? acquired_ : now_()));
  return true;
}

Status ScheduleLease::Release() {
  PGK_ASSIGN_OR_RETURN(auto current, Read());
  if (!current || current->id != id_) return Status::Ok();
  return storage_.Remove(kLeasePath);
}

}  // namespace pgk::serve
