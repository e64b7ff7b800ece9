// Self-signed certificates for tests of serve's HTTPS, made with OpenSSL in memory (no
// openssl command needed). Header-only: the unit and the integration tests both use it.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <string>

namespace pgk::test {

struct TestCert {
  std::string cert_pem, key_pem;
};

namespace internal {
inline std::string DrainBio(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}
inline void AddExtension(X509* x, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  X509_add_ext(x, ext, -1);
  X509_EXTENSION_free(ext);
}
}  // namespace internal

// A P-256 certificate for CN=`cn` and IP 127.0.0.1, valid from `from_s` to `until_s`
// seconds from now; the key PEM is encrypted with `passphrase` when one is given.
inline TestCert MakeTestCert(const std::string& cn, long from_s = -60, long until_s = 86400,
                             const std::string& passphrase = "") {
  static long serial = 1;
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
  X509_gmtime_adj(X509_getm_notBefore(x), from_s);
  X509_gmtime_adj(X509_getm_notAfter(x), until_s);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x, name);
  internal::AddExtension(x, NID_basic_constraints, "critical,CA:TRUE");
  internal::AddExtension(x, NID_subject_alt_name, "IP:127.0.0.1");
  X509_sign(x, key, EVP_sha256());
  TestCert out;
  BIO* c = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(c, x);
  out.cert_pem = internal::DrainBio(c);
  BIO* k = BIO_new(BIO_s_mem());
  if (passphrase.empty()) {
    PEM_write_bio_PrivateKey(k, key, nullptr, nullptr, 0, nullptr, nullptr);
  } else {
    PEM_write_bio_PrivateKey(k, key, EVP_aes_256_cbc(), nullptr, 0, nullptr, const_cast<char*>(passphrase.c_str()));
  }
  out.key_pem = internal::DrainBio(k);
  X509_free(x);
  EVP_PKEY_free(key);
  return out;
}

}  // namespace pgk::test
