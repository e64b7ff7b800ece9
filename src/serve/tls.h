// serve's HTTPS: the certificate (with its chain) and private key of serve.tls_cert_file
// and serve.tls_key_file, parsed into memory. The HTTP server hands the current identity
// to each TLS handshake from OpenSSL's certificate callback, so SIGHUP can swap in a
// renewed certificate (cert-manager, ACME clients renew every few weeks) without closing
// the listening socket.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <optional>
#include <string>

#include "common/config.h"
#include "common/status.h"

namespace pgk::serve {

struct TlsFiles {
  std::string cert_file;  // PEM: the server's certificate first, then its chain
  std::string key_file;   // PEM private key; readable by its owner only (0600)
};

// Both settings or neither (nullopt: plain HTTP); one without the other is a Config error.
Result<std::optional<TlsFiles>> TlsFilesFromConfig(const Config& config);

class TlsIdentity {
 public:
  // Config errors (exit 2) for an unreadable, exposed (key file not 0600), malformed or
  // expired certificate, or a key that is not the certificate's. Never names the key.
  static Result<std::shared_ptr<const TlsIdentity>> Load(const TlsFiles& files);
  ~TlsIdentity();
  TlsIdentity(const TlsIdentity&) = delete;
  TlsIdentity& operator=(const TlsIdentity&) = delete;

  // Sets this identity on a connection being handshaken (1 on success, OpenSSL style).
  int UseOn(SSL* ssl) const;
  // "CN=db-host.example, expires 2027-03-01T00:00:00Z": for the log.
  const std::string& description() const { return description_; }
  double not_after() const { return not_after_; }  // the certificate's expiry (epoch seconds)

 private:
  TlsIdentity() = default;
  X509* cert_ = nullptr;
  EVP_PKEY* key_ = nullptr;
  STACK_OF(X509)* chain_ = nullptr;
  std::string description_;
  double not_after_ = 0;
};

}  // namespace pgk::serve
