#include "serve/http.h"

#include <httplib.h>

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

HttpServer::HttpServer(Service& service) : service_(service), server_(std::make_unique<httplib::Server>()) {
  httplib::Server& srv = *server_;
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

Status HttpServer::Start(const ListenAddress& a) {
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
