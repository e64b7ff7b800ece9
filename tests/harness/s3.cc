#include "harness/s3.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "harness/harness.h"
#include "pg/local_cluster.h"
#include "storage/s3/s3_client.h"
#include "storage/s3/s3_config.h"

namespace pgk::test {

namespace {

bool Accepting(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

class S3Environment : public ::testing::Environment {
 public:
  void TearDown() override { S3().Kill(); }
};

}  // namespace

S3Server::S3Server(std::string name, std::vector<std::string> tls) : name_(std::move(name)), tls_(std::move(tls)) {}

S3Server::~S3Server() { Kill(); }

std::string S3Server::Start() {
  std::lock_guard lock(mu_);
  if (process_) return "";
  if (!error_.empty()) return error_;
  std::string node = FindOnPath("node");
  const char* env_cli = std::getenv("PGKEEPER_S3RVER");
  std::string cli = env_cli && *env_cli
                        ? env_cli
                        : std::string(PGKEEPER_SOURCE_DIR) + "/build/s3rver/node_modules/s3rver/bin/s3rver.js";
  if (node.empty() || !std::filesystem::exists(cli)) {
    error_ = "s3rver is not installed (node: " + (node.empty() ? std::string("missing") : node) + ", cli: " + cli +
             "); run scripts/s3-test-server.sh (or set PGKEEPER_S3RVER to s3rver's bin/s3rver.js)";
    return error_;
  }
  if (dir_.empty()) {
    dir_ = TempPath(name_);
    std::filesystem::create_directories(dir_);
    port_ = *pg::FindFreePort();
  }
  // s3rver encrypts ListObjectsV2 continuation tokens with DES, which OpenSSL 3 only
  // offers through its legacy provider: without the flag every truncated listing is a 500.
  std::vector<std::string> argv{
      node,     "--openssl-legacy-provider", cli,        "--directory",        dir_,          "--address", "127.0.0.1",
      "--port", std::to_string(port_),       "--silent", "--configure-bucket", kDefaultBucket};
  if (!tls_.empty()) argv.insert(argv.end(), {"--key", tls_[0], "--cert", tls_[1]});
  auto p = Process::Spawn({.argv = argv, .output_file = TempPath(name_ + ".log"), .parent_death_signal = SIGKILL});
  if (!p.ok()) return error_ = "cannot start s3rver: " + p.status().ToString();
  process_ = std::make_unique<Process>(std::move(p).value());
  for (int i = 0; i < 300; ++i) {
    if (Accepting(port_)) return "";
    if (process_->TryWait()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  process_.reset();
  return error_ = "s3rver did not start on port " + std::to_string(port_) + "; see " + TempPath(name_ + ".log");
}

void S3Server::Kill() {
  std::lock_guard lock(mu_);
  if (!process_) return;
  process_->Signal(SIGKILL);
  process_->Wait();
  process_.reset();
}

bool S3Server::running() {
  std::lock_guard lock(mu_);
  return process_ != nullptr;
}

std::string S3Server::Endpoint() const {
  return (tls_.empty() ? "http" : "https") + std::string("://127.0.0.1:") + std::to_string(port_);
}

std::map<std::string, std::string> S3Server::Env() const {
  return {{"PGKEEPER_S3_ENDPOINT", Endpoint()},
          {"AWS_REGION", "us-east-1"},
          {"AWS_ACCESS_KEY_ID", kAccessKey},
          {"AWS_SECRET_ACCESS_KEY", kSecretKey}};
}

void S3Server::UseInProcess() const {
  for (const auto& name : S3EnvVariables()) ::unsetenv(name.c_str());
  for (const auto& [k, v] : Env()) ::setenv(k.c_str(), v.c_str(), 1);
}

std::string S3Server::NewBucket(const std::string& prefix) {
  if (std::string err = Start(); !err.empty()) {
    ADD_FAILURE() << err;
    return "";
  }
  static std::atomic<int> counter{0};
  std::string bucket = prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  for (char& c : bucket) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '-';
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  auto env = Env();
  auto config = storage::s3::LoadS3Config("s3://" + bucket, [&](const std::string& name) -> std::optional<std::string> {
    auto it = env.find(name);
    return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
  });
  if (!config.ok()) {
    ADD_FAILURE() << config.status().ToString();
    return "";
  }
  storage::s3::S3Client client(std::move(config).value(), 2);
  auto r = client.Send({"PUT", "", {}, {}, {}});  // CreateBucket
  if (!r.ok() || !r->ok()) {
    ADD_FAILURE() << "cannot create bucket " << bucket << ": "
                  << (r.ok() ? "HTTP " + std::to_string(r->status) + " " + r->body : r.status().ToString());
    return "";
  }
  return bucket;
}

S3Server& S3() {
  static S3Server* server = new S3Server("s3rver");  // leaked on purpose: the environment stops it
  return *server;
}

namespace {
[[maybe_unused]] auto* const g_s3_env = ::testing::AddGlobalTestEnvironment(new S3Environment);
}  // namespace

}  // namespace pgk::test
