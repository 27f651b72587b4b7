#include "uuid.h"

#include <stdexcept>

#include <openssl/evp.h>
#include <openssl/rand.h>

namespace hopwire {

namespace {
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Namespace for Hopwire source names (itself a v4 UUID picked once).
constexpr std::array<std::uint8_t, 16> kSourceNamespace = {
    0x6f, 0x3b, 0x8e, 0x51, 0x2a, 0x47, 0x4c, 0x1e, 0x9d, 0x05, 0x7b, 0xe2, 0x44, 0x10, 0xa9, 0x3c};
}  // namespace

std::optional<uuid> uuid::parse(std::string_view text) {
  if (text.size() != 36) return std::nullopt;
  uuid out;
  std::size_t b = 0;
  for (std::size_t i = 0; i < text.size();) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-') return std::nullopt;
      ++i;
      continue;
    }
    const int hi = hex_value(text[i]);
    const int lo = hex_value(text[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.bytes[b++] = static_cast<std::uint8_t>(hi << 4 | lo);
    i += 2;
  }
  return out;
}

uuid uuid::random() {
  uuid out;
  if (RAND_bytes(out.bytes.data(), static_cast<int>(out.bytes.size())) != 1)
    throw std::runtime_error("no randomness available from OpenSSL");
  out.bytes[6] = static_cast<std::uint8_t>((out.bytes[6] & 0x0f) | 0x40);
  out.bytes[8] = static_cast<std::uint8_t>((out.bytes[8] & 0x3f) | 0x80);
  return out;
}

uuid uuid::from_name(std::string_view name) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha1(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx, kSourceNamespace.data(), kSourceNamespace.size()) != 1 ||
      EVP_DigestUpdate(ctx, name.data(), name.size()) != 1 ||
      EVP_DigestFinal_ex(ctx, digest, &len) != 1) {
    EVP_MD_CTX_free(ctx);
    throw std::runtime_error("SHA-1 unavailable from OpenSSL");
  }
  EVP_MD_CTX_free(ctx);
  uuid out;
  for (std::size_t i = 0; i < 16; ++i) out.bytes[i] = digest[i];
  out.bytes[6] = static_cast<std::uint8_t>((out.bytes[6] & 0x0f) | 0x50);
  out.bytes[8] = static_cast<std::uint8_t>((out.bytes[8] & 0x3f) | 0x80);
  return out;
}

std::string uuid::str() const {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (std::size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[bytes[i] >> 4]);
    out.push_back(kHex[bytes[i] & 15]);
  }
  return out;
}

bool uuid::is_nil() const {
  for (auto b : bytes)
    if (b) return false;
  return true;
}

}  // namespace hopwire
