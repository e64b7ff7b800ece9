// A real S3-compatible server for the tests: s3rver (Node.js), one per test binary,
// started on first use on a free loopback port with a private data directory. Install it
// with scripts/s3-test-server.sh; the CLI is found through $PGKEEPER_S3RVER or at
// build/s3rver in the source tree. A test that needs it and cannot start it FAILS (never
// skips), so a missing server cannot pass for a working driver.
//
// s3rver's limits, and what they mean for coverage: it checks that the access key exists
// but does not verify SigV4 signatures (a wrong secret key goes unnoticed; the signer is
// checked against AWS's vectors in tests/unit/s3_sigv4_test.cc instead), it does not
// enforce the 5 MiB minimum part size, and it has no AbortMultipartUpload (the driver
// logs a warning; the object is invisible either way).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/process.h"
#include "harness/harness.h"

namespace pgk::test {

class S3Server {
 public:
  // `tls`: {key file, cert file} to serve https instead of http.
  explicit S3Server(std::string name, std::vector<std::string> tls = {});
  ~S3Server();
  S3Server(const S3Server&) = delete;
  S3Server& operator=(const S3Server&) = delete;

  // Empty on success (also when already running), else why the server is not available.
  // After Kill(), starts again on the same port and data directory: what was stored
  // before is still there.
  std::string Start();
  // SIGKILL: connections drop mid-request, as when a server or network dies.
  void Kill();
  bool running();

  // "http://127.0.0.1:<port>" (https with tls). Valid after the first Start().
  std::string Endpoint() const;
  // The data directory: s3rver keeps each bucket as a directory of it.
  const std::string& dir() const { return dir_; }

  // A new, empty bucket with a unique name derived from `prefix` (lowercase letters,
  // digits and '-'); "" and a test failure when it cannot be created.
  std::string NewBucket(const std::string& prefix);

  // The environment that points pgkeeper at this server with s3rver's credentials, for
  // RunCli (which removes every other AWS_* and PGKEEPER_S3_* variable).
  std::map<std::string, std::string> Env() const;
  // The same, applied to this process's environment (in-process driver tests), after
  // unsetting every other variable the driver reads.
  void UseInProcess() const;

  static constexpr char kDefaultBucket[] = "test-bucket";
  static constexpr char kAccessKey[] = "S3RVER";
  static constexpr char kSecretKey[] = "S3RVER";

 private:
  const std::string name_;
  const std::vector<std::string> tls_;
  std::mutex mu_;
  std::unique_ptr<Process> process_;  // REQUIRES: mu_ held
  std::string dir_;
  int port_ = 0;
  std::string error_;
};

// The binary's shared server, stopped when the tests end.
S3Server& S3();

}  // namespace pgk::test
