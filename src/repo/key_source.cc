#include "repo/key_source.h"

#include <openssl/crypto.h>

#include <cstdlib>

#include "pipeline/base64.h"

namespace pgk::repo {

namespace {

const char* Env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : nullptr;
}

Result<KeySource> FromEnvOrFile(const char* key_var, const char* passphrase_var, const std::string& key_file) {
  const char* key = Env(key_var);
  const char* passphrase = Env(passphrase_var);
  if (key != nullptr && passphrase != nullptr) {
    return Status::InvalidArgument(std::string("both ") + key_var + " and " + passphrase_var + " are set",
                                   "set only the one the repository uses");
  }
  if (key != nullptr) {
    PGK_ASSIGN_OR_RETURN(pipeline::Key k, pipeline::ParseKey(key, key_var));
    return KeySource::FromKey(std::move(k), key_var);
  }
  if (passphrase != nullptr) return KeySource::FromPassphrase(passphrase, passphrase_var);
  if (!key_file.empty()) {
    PGK_ASSIGN_OR_RETURN(pipeline::Key k, pipeline::KeyFromFile(key_file));
    return KeySource::FromKey(std::move(k), "key file " + key_file);
  }
  return KeySource();
}

}  // namespace

KeySource KeySource::FromKey(pipeline::Key key, std::string origin) {
  KeySource s;
  s.key_ = std::move(key);
  s.origin_ = std::move(origin);
  return s;
}

KeySource KeySource::FromPassphrase(std::string passphrase, std::string origin) {
  KeySource s;
  s.passphrase_ = std::move(passphrase);
  s.origin_ = std::move(origin);
  return s;
}

KeySource::KeySource(const KeySource& other) = default;
KeySource& KeySource::operator=(const KeySource& other) {
  if (this != &other) {
    OPENSSL_cleanse(passphrase_.data(), passphrase_.size());
    key_ = other.key_;
    passphrase_ = other.passphrase_;
    origin_ = other.origin_;
  }
  return *this;
}

KeySource::~KeySource() { OPENSSL_cleanse(passphrase_.data(), passphrase_.size()); }

Result<KeySource> KeySource::Current(const std::string& key_file) {
  return FromEnvOrFile(pipeline::kKeyEnvVar, kPassphraseEnvVar, key_file);
}

Result<KeySource> KeySource::New(const std::string& new_key_file) {
  PGK_ASSIGN_OR_RETURN(KeySource s, FromEnvOrFile(kNewKeyEnvVar, kNewPassphraseEnvVar, new_key_file));
  if (!s.given()) {
    return Status::Config("no new encryption key given", std::string("set ") + kNewKeyEnvVar + " or " +
                                                             kNewPassphraseEnvVar + ", or pass --new-key-file");
  }
  return s;
}

Result<pipeline::Key> KeySource::KekFor(const KeyEntry& entry) const {
  if (is_passphrase() != entry.kdf.has_value()) {
    std::string expects = entry.kdf ? std::string("a passphrase (") + kPassphraseEnvVar + ")"
                                    : std::string("a 256-bit key (") + pipeline::kKeyEnvVar + " or a key file)";
    return Status::Refused("the repository key is " + expects + ", and " + origin_ + " gives " +
                           (is_passphrase() ? "a passphrase" : "a 256-bit key"));
  }
  if (!is_passphrase()) return *key_;
  if (entry.kdf->algorithm != "scrypt") {
    return Status::Malformed("unknown key derivation '" + entry.kdf->algorithm + "'", "use a newer pgkeeper");
  }
  auto salt = pipeline::Base64Decode(entry.kdf->salt);
  if (!salt) return Status::Malformed("the repository's key derivation salt is not base64");
  return pipeline::KeyFromPassphrase(passphrase_, *salt, {.n = entry.kdf->n, .r = entry.kdf->r, .p = entry.kdf->p});
}

Result<std::pair<KeyEntry, pipeline::Key>> KeySource::NewEntry() const {
  KeyEntry entry;
  if (is_passphrase()) {
    pipeline::KdfParams params;
    auto salt = pipeline::RandomSalt();
    entry.kdf = KdfSpec{.salt = pipeline::Base64Encode(salt), .n = params.n, .r = params.r, .p = params.p};
  }
  PGK_ASSIGN_OR_RETURN(pipeline::Key kek, KekFor(entry));
  entry.id = pipeline::KeyId(kek);
  entry.check = pipeline::WrapKey(kek, pipeline::RandomKey());
  return std::make_pair(std::move(entry), std::move(kek));
}

Result<pipeline::Key> Unlock(const KeySource& source, const KeyEntry& entry) {
  PGK_ASSIGN_OR_RETURN(pipeline::Key kek, source.KekFor(entry));
  PGK_RETURN_IF_ERROR(pipeline::UnwrapKey(kek, entry.check).status());
  return kek;
}

}  // namespace pgk::repo
