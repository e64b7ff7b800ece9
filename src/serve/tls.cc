#include "serve/tls.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <ctime>

#include "common/fs.h"
#include "common/private_file.h"
#include "common/utc_time.h"

namespace pgk::serve {

namespace {

constexpr size_t kMaxPemBytes = 1 << 20;

// Never prompt: PEM_read_bio_PrivateKey would otherwise ask the terminal for the
// passphrase of an encrypted key, and serve runs without one.
int NoPassphrase(char*, int, int, void*) { return -1; }

int64_t NotAfter(const X509* cert) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1) return 0;
  return static_cast<int64_t>(timegm(&tm));
}

std::string Expiry(const X509* cert) { return FormatUtc(NotAfter(cert), kIsoUtc); }

std::string Subject(const X509* cert) {
  char buf[256];
  X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof buf);
  std::string s = buf;
  return s.size() > 1 && s.front() == '/' ? s.substr(1) : s;
}

}  // namespace

Result<std::optional<TlsFiles>> TlsFilesFromConfig(const Config& config) {
  std::string cert = config.GetString("serve.tls_cert_file").value_or("");
  std::string key = config.GetString("serve.tls_key_file").value_or("");
  if (cert.empty() && key.empty()) return std::optional<TlsFiles>();
  if (cert.empty() || key.empty()) {
    return Status::Config("serve.tls_" + std::string(cert.empty() ? "key" : "cert") + "_file is set in " +
                              config.origin() + " but serve.tls_" + (cert.empty() ? "cert" : "key") + "_file is not",
                          "HTTPS needs both the certificate and its private key");
  }
  return std::optional<TlsFiles>(TlsFiles{cert, key});
}

TlsIdentity::~TlsIdentity() {
  X509_free(cert_);
  EVP_PKEY_free(key_);
  sk_X509_pop_free(chain_, X509_free);
}

Result<std::shared_ptr<const TlsIdentity>> TlsIdentity::Load(const TlsFiles& files) {
  auto bad = [&](const std::string& what, const std::string& hint) {
    ERR_clear_error();  // OpenSSL's queue would otherwise leak into an unrelated later error
    return Status::Config(what, hint);
  };
  auto cert_text = fs::ReadFile(files.cert_file);
  if (!cert_text.ok()) return cert_text.status().WithContext("serve.tls_cert_file");
  if (cert_text->size() > kMaxPemBytes) return bad("TLS certificate file " + files.cert_file + " is too large", "");
  auto key_text = ReadPrivateFile(files.key_file, "TLS key file", kMaxPemBytes);
  if (!key_text.ok()) return key_text.status().WithContext("serve.tls_key_file");

  std::shared_ptr<TlsIdentity> id(new TlsIdentity());
  {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(cert_text->data(), static_cast<int>(cert_text->size())),
                                                  BIO_free);
    id->cert_ = PEM_read_bio_X509(bio.get(), nullptr, NoPassphrase, nullptr);
    if (!id->cert_) {
      return bad("no PEM certificate in " + files.cert_file,
                 "serve.tls_cert_file holds the server's certificate, then its chain, in PEM");
    }
    id->chain_ = sk_X509_new_null();
    while (X509* extra = PEM_read_bio_X509(bio.get(), nullptr, NoPassphrase, nullptr)) sk_X509_push(id->chain_, extra);
    ERR_clear_error();  // the loop ends on "no start line"
  }
  {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(key_text->data(), static_cast<int>(key_text->size())),
                                                  BIO_free);
    id->key_ = PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr);
    if (!id->key_) {
      return bad("no usable PEM private key in " + files.key_file + " (an encrypted key needs a passphrase serve does "
                 "not have)",
                 "write the key unencrypted, readable by serve's user only: openssl pkey -in KEY -out " +
                     files.key_file);
    }
  }
  if (X509_check_private_key(id->cert_, id->key_) != 1) {
    return bad("the key in " + files.key_file + " is not the private key of the certificate in " + files.cert_file,
               "give the key the certificate was issued for");
  }
  if (X509_cmp_current_time(X509_get0_notAfter(id->cert_)) < 0) {
    return bad("the certificate in " + files.cert_file + " expired at " + Expiry(id->cert_),
               "renew it; serve rereads both files on SIGHUP");
  }
  id->description_ = Subject(id->cert_) + ", expires " + Expiry(id->cert_);
  id->not_after_ = static_cast<double>(NotAfter(id->cert_));
  return std::shared_ptr<const TlsIdentity>(std::move(id));
}

int TlsIdentity::UseOn(SSL* ssl) const { return SSL_use_cert_and_key(ssl, cert_, key_, chain_, 1); }

}  // namespace pgk::serve
