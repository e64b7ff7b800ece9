#include "serve/http.h"

#include <httplib.h>

#include "common/log.h"
#include "serve/http_auth.h"
#include "serve/metrics.h"
#include "serve/status_page.h"

namespace pgk::serve {

Result<ListenAddress> ParseListen(const std::string& text) {
  auto bad = [&] {
    return Status::Config("invalid listen address '" + text + "'",
                          "write HOST:PORT, e.g. 127.0.0.1:9187, [::1]:9187 or 0.0.0.0:9187");
  };
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 == text.size()) return bad();
  std::string host = text.substr(0, colon), port = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "0.0.0.0";
  if (port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5) return bad();
  int p = std::stoi(port);
  if (p > 65535) return bad();
  return ListenAddress{host, p};
}

HttpServer::HttpServer(Service& service, std::shared_ptr<const TlsIdentity> tls)
    : service_(service), https_(tls != nullptr), tls_(std::move(tls)) {
  if (https_) {
    server_ = std::make_unique<httplib::SSLServer>([this](SSL_CTX& ctx) {
      SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
      SSL_CTX_set_cert_cb(&ctx, &HttpServer::CertCallback, this);
      return true;
    });
  } else {
    server_ = std::make_unique<httplib::Server>();
  }
  httplib::Server& srv = *server_;
  srv.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (IsOpenPath(req.path)) return httplib::Server::HandlerResponse::Unhandled;
    std::shared_ptr<const std::string> token = Token();
    if (!token || Authorized(req.get_header_value("Authorization"), *token)) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    log::Debug("HTTP {} {} from {}: 401, no valid access token", req.method, req.path, req.remote_addr);
    res.status = 401;
    // Basic makes a browser ask for it (any user name, the token as the password).
    res.set_header("WWW-Authenticate", "Basic realm=\"pgkeeper serve\", charset=\"UTF-8\"");
    nlohmann::json body = {{"error", "unauthorized"},
                           {"hint", "send the serve access token: Authorization: Bearer TOKEN, or as the Basic "
                                    "password (serve.token_file / PGKEEPER_SERVE_TOKEN)"}};
    res.set_content(body.dump() + "\n", "application/json");
    return httplib::Server::HandlerResponse::Handled;
  });
  srv.Get("/live", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("{\"status\":\"alive\"}\n", "application/json");
  });
  srv.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    Probe p = service_.Health();
    nlohmann::json body = {{"status", p.ok ? "ok" : "unavailable"}, {"database", p.ok ? "up" : "down"}};
    if (!p.ok) body["error"] = p.error;
    res.status = p.ok ? 200 : 503;
    res.set_content(body.dump() + "\n", "application/json");
  });
  srv.Get("/ready", [this](const httplib::Request&, httplib::Response& res) {
    auto reasons = service_.NotReady();
    nlohmann::json body = {{"status", reasons.empty() ? "ready" : "not ready"}, {"reasons", reasons}};
    res.status = reasons.empty() ? 200 : 503;
    res.set_content(body.dump() + "\n", "application/json");
  });
  srv.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(RenderMetrics(service_.Snapshot()), "text/plain; version=0.0.4; charset=utf-8");
  });
  srv.Get("/api/status", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(service_.Snapshot().ToJson().dump(2) + "\n", "application/json");
  });
  srv.Get("/", [this](const httplib::Request&, httplib::Response& res) {
    StatusSnapshot s = service_.Snapshot();
    res.set_content(RenderStatusPage(s, service_.Now()), "text/html; charset=utf-8");
  });
}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::SetToken(std::optional<std::string> token) {
  std::lock_guard<std::mutex> lock(mu_);
  token_ = token ? std::make_shared<const std::string>(std::move(*token)) : nullptr;
}

void HttpServer::SetTls(std::shared_ptr<const TlsIdentity> tls) {
  std::lock_guard<std::mutex> lock(mu_);
  if (https_ && tls) tls_ = std::move(tls);
}

// OpenSSL calls this in each handshake, on the server's worker thread: the identity is
// read under the mutex, so a SIGHUP swapping it never races a handshake.
int HttpServer::CertCallback(SSL* ssl, void* self) {
  auto* server = static_cast<HttpServer*>(self);
  std::shared_ptr<const TlsIdentity> tls;
  {
    std::lock_guard<std::mutex> lock(server->mu_);
    tls = server->tls_;
  }
  return tls ? tls->UseOn(ssl) : 0;
}

std::shared_ptr<const std::string> HttpServer::Token() {
  std::lock_guard<std::mutex> lock(mu_);
  return token_;
}

Status HttpServer::Start(const ListenAddress& a) {
  if (!server_->is_valid()) return Status::Internal("cannot set up TLS for serve's HTTP server");
  if (a.port == 0) {
    port_ = server_->bind_to_any_port(a.host);
  } else {
    port_ = server_->bind_to_port(a.host, a.port) ? a.port : -1;
  }
  if (port_ <= 0) {
    return Status::IO("cannot listen on " + a.host + ":" + std::to_string(a.port),
                      "another process may use the port: change serve.listen or --listen");
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  return Status::Ok();
}

void HttpServer::Stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace pgk::serve
