// serve's HTTP endpoints (cpp-httplib), on serve.listen / --listen, loopback by default:
//   GET /live        200 while the process runs (a liveness probe that does not follow the
//                    database)
//   GET /health      200 {"status":"ok"} when the process runs and the database answers
//                    SELECT 1; 503 with the reason otherwise
//   GET /ready       200 when healthy, migrations are not dirty and the schema has no
//                    errors against the expected one (cached, see Service); 503 + reasons
//   GET /metrics     Prometheus text format (metrics.h)
//   GET /api/status  the status snapshot as JSON
//   GET /            the status page (status_page.h)
// With an access token set (http_auth.h), every path but the three probes answers 401
// to a request without it.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/status.h"
#include "serve/service.h"
#include "serve/tls.h"

namespace httplib {
class Server;
}

namespace pgk::serve {

struct ListenAddress {
  std::string host;
  int port = 0;
};
// "127.0.0.1:9187", "[::1]:9187", ":9187" (all interfaces: say so explicitly), "localhost:80".
Result<ListenAddress> ParseListen(const std::string& text);

class HttpServer {
 public:
  // With `tls`, HTTPS only (TLS 1.2 and later); SetTls swaps the identity.
  explicit HttpServer(Service& service, std::shared_ptr<const TlsIdentity> tls = nullptr);
  ~HttpServer();
  // Binds (IO error when the address is taken) and serves on a background thread.
  Status Start(const ListenAddress& address);
  int port() const { return port_; }
  void Stop();
  // Requires `token` on every path but the probes from now on; nullopt opens them all.
  // Safe to call while serving (SIGHUP rereads the token).
  void SetToken(std::optional<std::string> token);
  bool HasToken() { return Token() != nullptr; }
  // The certificate for the next handshakes (connections already open keep theirs). Only
  // for a server constructed with one.
  void SetTls(std::shared_ptr<const TlsIdentity> tls);
  const char* scheme() const { return https_ ? "https" : "http"; }

 private:
  std::shared_ptr<const std::string> Token();
  static int CertCallback(SSL* ssl, void* self);

  Service& service_;
  bool https_ = false;
  std::mutex mu_;  // guards token_ and tls_ (SIGHUP changes them while requests run)
  std::shared_ptr<const std::string> token_;
  std::shared_ptr<const TlsIdentity> tls_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace pgk::serve
