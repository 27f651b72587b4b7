#include "common/text.h"

#include <cstdint>

namespace hopwire {

std::string ssid_text(std::string_view b) {
  std::string out;
  out.reserve(b.size());
  std::size_t i = 0;
  auto escape = [&](unsigned char c) {
    static constexpr char digits[] = "0123456789abcdef";
    out += "\\x";
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  };
  while (i < b.size()) {
    const auto c = static_cast<unsigned char>(b[i]);
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) n = 1, cp = c;
    else if ((c & 0xe0) == 0xc0) n = 2, cp = c & 0x1f;
    else if ((c & 0xf0) == 0xe0) n = 3, cp = c & 0x0f;
    else if ((c & 0xf8) == 0xf0) n = 4, cp = c & 0x07;
    bool ok = n > 0 && i + n <= b.size();
    for (std::size_t k = 1; ok && k < n; ++k) {
      const auto cc = static_cast<unsigned char>(b[i + k]);
      if ((cc & 0xc0) != 0x80) ok = false;
      cp = cp << 6 | (cc & 0x3f);
    }
    // Reject overlong forms, surrogates and out-of-range code points.
    if (ok && ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
               (cp >= 0xd800 && cp <= 0xdfff)))
      ok = false;
    if (!ok) {
      escape(c);
      ++i;
      continue;
    }
    out.append(b.substr(i, n));
    i += n;
  }
  return out;
}

}  // namespace hopwire
