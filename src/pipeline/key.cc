#include "pipeline/key.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "common/hash.h"
#include "pipeline/aes_gcm.h"
#include "pipeline/base64.h"

namespace pgk::pipeline {
namespace {

constexpr std::string_view kWrapAad = "pgkeeper key wrap v1";
constexpr size_t kWrappedSize = kGcmNonceSize + 32 + kGcmTagSize;
constexpr size_t kMaxKeyFileSize = 4096;  // a key is under 100 bytes; anything larger is the wrong file
constexpr uint64_t kMaxKdfMemory = uint64_t{1} << 30;

void RandomBytesOrDie(uint8_t* out, size_t n) {
  // Without randomness there is no safe key or nonce to hand out, and callers of the
  // functions below have no way to recover: stop rather than encrypt predictably.
  if (RAND_bytes(out, static_cast<int>(n)) != 1) {
    std::fputs("pgkeeper: the random number generator failed\n", stderr);
    std::abort();
  }
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::strchr(" \t\r\n", s.front()) != nullptr) s.remove_prefix(1);
  while (!s.empty() && std::strchr(" \t\r\n", s.back()) != nullptr) s.remove_suffix(1);
  return s;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Key::~Key() { OPENSSL_cleanse(bytes.data(), bytes.size()); }

Status DecryptionFailed(const std::string& name) {
  Status status = Status::Malformed(kDecryptionFailed,
                                    "check that the key is this repository's (PGKEEPER_ENCRYPTION_KEY or the key "
                                    "file); if it is, the file was damaged: restore from another backup");
  return name.empty() ? status : status.WithContext(name);
}

Result<Key> ParseKey(std::string_view text, std::string_view origin) {
  text = Trim(text);
  Key key;
  if (text.size() == 64) {
    bool hex = true;
    for (size_t i = 0; i < 32 && hex; ++i) {
      int hi = HexValue(text[2 * i]);
      int lo = HexValue(text[2 * i + 1]);
      hex = hi >= 0 && lo >= 0;
      if (hex) key.bytes[i] = static_cast<uint8_t>(hi << 4 | lo);
    }
    if (hex) return key;
  }
  if (auto decoded = Base64Decode(text); decoded && decoded->size() == key.bytes.size()) {
    std::memcpy(key.bytes.data(), decoded->data(), key.bytes.size());
    OPENSSL_cleanse(decoded->data(), decoded->size());
    return key;
  } else if (decoded) {
    OPENSSL_cleanse(decoded->data(), decoded->size());
  }
  // The text itself stays out of the message: it may be a mistyped key.
  return Status::InvalidArgument("the encryption key from " + std::string(origin) + " is not a 256-bit key",
                                 "give 64 hex characters or the base64 of 32 bytes, e.g. from `openssl rand -hex 32`");
}

Result<Key> KeyFromFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    std::string message = "cannot open key file " + path + ": " + std::strerror(err);
    if (err == ENOENT) return Status::NotFound(message);
    return Status::IO(message);
  }
  // Checked on the open descriptor, so the file read is the file whose mode was checked.
  struct stat st {};
  std::string text;
  Status status;
  if (::fstat(fd, &st) != 0) {
    status = Status::IO("cannot stat key file " + path + ": " + std::strerror(errno));
  } else if (!S_ISREG(st.st_mode)) {
    status = Status::InvalidArgument("key file " + path + " is not a regular file");
  } else if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    status = Status::Refused("key file " + path + " is accessible by group or others (mode " + mode + ")",
                             "chmod 600 " + path);
  } else {
    text.resize(kMaxKeyFileSize + 1);
    ssize_t n = ::read(fd, text.data(), text.size());
    if (n < 0) {
      status = Status::IO("cannot read key file " + path + ": " + std::strerror(errno));
    } else if (static_cast<size_t>(n) > kMaxKeyFileSize) {
      status = Status::InvalidArgument("key file " + path + " is too large to hold a key");
    } else {
      text.resize(static_cast<size_t>(n));
    }
  }
  ::close(fd);
  Result<Key> key = status.ok() ? ParseKey(text, "key file " + path) : Result<Key>(status);
  OPENSSL_cleanse(text.data(), text.size());
  return key;
}

Result<Key> KeyFromEnvOrFile(const std::string& key_file) {
  const char* env = std::getenv(kKeyEnvVar);
  if (env != nullptr && *env != '\0') return ParseKey(env, kKeyEnvVar);
  if (!key_file.empty()) return KeyFromFile(key_file);
  return Status::Config("no encryption key given", std::string("set ") + kKeyEnvVar +
                                                       " to 64 hex characters (e.g. from `openssl rand -hex 32`) "
                                                       "or name a key file that holds them");
}

Result<Key> KeyFromPassphrase(std::string_view passphrase, std::span<const uint8_t> salt, const KdfParams& params) {
  if (passphrase.empty()) return Status::InvalidArgument("the encryption passphrase is empty");
  if (salt.size() < kSaltSize) {
    return Status::InvalidArgument("the key derivation salt has " + std::to_string(salt.size()) +
                                   " bytes, fewer than " + std::to_string(kSaltSize));
  }
  bool power_of_two = params.n >= 2 && (params.n & (params.n - 1)) == 0;
  if (!power_of_two || params.r == 0 || params.p == 0 || params.r > (kMaxKdfMemory >> 7) ||
      params.n > kMaxKdfMemory / (128 * params.r) || params.p > kMaxKdfMemory / (128 * params.r)) {
    return Status::InvalidArgument("invalid scrypt parameters",
                                   "n must be a power of two and 128 * r * (n + p) at most 1 GiB");
  }
  // OpenSSL refuses work above `maxmem` (32 MiB by default, just below what N=2^15, r=8
  // needs), so the limit is what these parameters use plus room for its bookkeeping.
  uint64_t maxmem = 128 * params.r * (params.n + params.p + 2) + (1 << 20);
  Key key;
  if (EVP_PBE_scrypt(passphrase.data(), passphrase.size(), salt.data(), salt.size(), params.n, params.r, params.p,
                     maxmem, key.bytes.data(), key.bytes.size()) != 1) {
    return Status::Internal("scrypt key derivation failed in openssl");
  }
  return key;
}

std::array<uint8_t, kSaltSize> RandomSalt() {
  std::array<uint8_t, kSaltSize> salt{};
  RandomBytesOrDie(salt.data(), salt.size());
  return salt;
}

Key RandomKey() {
  Key key;
  RandomBytesOrDie(key.bytes.data(), key.bytes.size());
  return key;
}

std::string WrapKey(const Key& kek, const Key& data_key) {
  std::array<uint8_t, kWrappedSize> out{};
  RandomBytesOrDie(out.data(), kGcmNonceSize);
  std::span<uint8_t> body(out.data() + kGcmNonceSize, data_key.bytes.size());
  std::memcpy(body.data(), data_key.bytes.data(), body.size());
  AesGcm gcm(kek, AesGcm::Mode::kSeal);
  auto aad = std::span(reinterpret_cast<const uint8_t*>(kWrapAad.data()), kWrapAad.size());
  if (!gcm.Seal(std::span(out.data(), kGcmNonceSize), aad, body, out.data() + kGcmNonceSize + body.size()).ok()) {
    // Same reasoning as for the random generator: an OpenSSL that cannot run AES-GCM on
    // 32 bytes is broken, and returning the key unencrypted is not an option.
    std::fputs("pgkeeper: aes-256-gcm failed in openssl\n", stderr);
    std::abort();
  }
  return Base64Encode(out);
}

Result<Key> UnwrapKey(const Key& kek, const std::string& wrapped) {
  auto raw = Base64Decode(Trim(wrapped));
  if (!raw || raw->size() != kWrappedSize) return DecryptionFailed("");
  Key key;
  std::span<uint8_t> body(raw->data() + kGcmNonceSize, key.bytes.size());
  AesGcm gcm(kek, AesGcm::Mode::kOpen);
  auto aad = std::span(reinterpret_cast<const uint8_t*>(kWrapAad.data()), kWrapAad.size());
  if (!gcm.Open(std::span(raw->data(), kGcmNonceSize), aad, body, raw->data() + kGcmNonceSize + body.size())) {
    return DecryptionFailed("");
  }
  std::memcpy(key.bytes.data(), body.data(), body.size());
  OPENSSL_cleanse(raw->data(), raw->size());
  return key;
}

std::string KeyId(const Key& key) {
  constexpr std::string_view kIdLabel = "pgkeeper key id v1";
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_size = 0;
  if (HMAC(EVP_sha256(), key.bytes.data(), static_cast<int>(key.bytes.size()),
           reinterpret_cast<const unsigned char*>(kIdLabel.data()), kIdLabel.size(), mac, &mac_size) == nullptr) {
    std::fputs("pgkeeper: hmac-sha256 failed in openssl\n", stderr);
    std::abort();
  }
  std::string id = HexEncode(std::string_view(reinterpret_cast<const char*>(mac), 8));
  OPENSSL_cleanse(mac, sizeof mac);
  return id;
}

}  // namespace pgk::pipeline
