// EXIF Orientation lookup, the way Pillow 13's Image.getexif() finds it for ImageOps.exif_transpose: the
// Orientation tag (0x0112) of IFD0 in the EXIF block; if that tag is absent, the first
// `tiff:Orientation="N"` (or `>N`) in the XMP packet. Every offset is bounds-checked against its block.
#include "exif.h"

#include <cstring>

namespace vitrine::image::exif {
namespace {

// Pillow's pattern rb'tiff:Orientation(="|>)([0-9])', first match; -1 if none.
int xmp_orientation(const uint8_t* x, size_t n) {
  static const char kKey[] = "tiff:Orientation";
  const size_t k = sizeof(kKey) - 1;
  for (size_t i = 0; i + k + 2 <= n; i++) {  // key, then at least '>' and a digit
    if (std::memcmp(x + i, kKey, k) != 0) continue;
    size_t j = i + k;
    if (x[j] == '=' && j + 1 < n && x[j + 1] == '"') {
      j += 2;
    } else if (x[j] == '>') {
      j += 1;
    } else {
      continue;
    }
    if (j < n && x[j] >= '0' && x[j] <= '9') return x[j] - '0';
  }
  return -1;
}

int combine(int exif_value, int xmp_value) {
  const int v = exif_value >= 0 ? exif_value : xmp_value;
  return v >= 1 && v <= 8 ? v : 1;  // exif_transpose only acts on 2..8
}

}  // namespace

int tiff_orientation_tag(const uint8_t* t, size_t n) {
  if (n < 8) return -1;
  bool little;
  if (t[0] == 'I' && t[1] == 'I') {
    little = true;
  } else if (t[0] == 'M' && t[1] == 'M') {
    little = false;
  } else {
    return -1;
  }
  auto u16 = [&](size_t o) -> uint32_t {
    return little ? (t[o] | (t[o + 1] << 8)) : ((t[o] << 8) | t[o + 1]);
  };
  auto u32 = [&](size_t o) -> uint32_t {
    return little ? (uint32_t(t[o]) | uint32_t(t[o + 1]) << 8 | uint32_t(t[o + 2]) << 16 | uint32_t(t[o + 3]) << 24)
                  : (uint32_t(t[o]) << 24 | uint32_t(t[o + 1]) << 16 | uint32_t(t[o + 2]) << 8 | uint32_t(t[o + 3]));
  };
  if (u16(2) != 42) return -1;
  const size_t ifd = u32(4);
  if (ifd > n || n - ifd < 2) return -1;
  const size_t entries = u16(ifd);
  for (size_t i = 0; i < entries; i++) {
    const size_t e = ifd + 2 + i * 12;
    if (e + 12 > n) break;
    if (u16(e) != 0x0112) continue;
    const uint32_t type = u16(e + 2);
    if (type == 3) return static_cast<int>(u16(e + 8));  // SHORT, left-justified in the value field
    if (type == 4) {  // LONG (unusual, but PIL accepts it)
      const uint32_t v = u32(e + 8);
      return v <= 8 ? static_cast<int>(v) : 0;
    }
    return 0;  // present but unreadable: counts as present (no XMP fallback), means no transpose
  }
  return -1;
}

int tiff_orientation(const uint8_t* tiff, size_t size) { return combine(tiff_orientation_tag(tiff, size), -1); }

int jpeg_orientation(const uint8_t* d, size_t n) {
  // Walk the marker segments from SOI up to the first SOS. EXIF: the first APP1 "Exif\0\0" segment (PIL
  // appends later ones, which only matters for IFDs past 64 KiB). XMP: the last APP1 XMP packet (PIL keeps
  // overwriting info["xmp"]).
  int exif_value = -1, xmp_value = -1;
  bool seen_exif = false;
  size_t pos = 2;
  while (pos + 4 <= n) {
    if (d[pos] != 0xFF) break;
    const uint8_t marker = d[pos + 1];
    if (marker == 0xFF) {  // fill byte
      pos++;
      continue;
    }
    if (marker == 0xDA || marker == 0xD9) break;  // start of scan / end of image: the header is over
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {  // standalone markers
      pos += 2;
      continue;
    }
    const size_t len = (size_t(d[pos + 2]) << 8) | d[pos + 3];
    if (len < 2 || pos + 2 + len > n) break;
    const uint8_t* seg = d + pos + 4;
    const size_t seg_len = len - 2;
    static const char kXmp[] = "http://ns.adobe.com/xap/1.0/";  // followed by a NUL
    if (marker == 0xE1 && !seen_exif && seg_len >= 6 && std::memcmp(seg, "Exif\0\0", 6) == 0) {
      seen_exif = true;
      exif_value = tiff_orientation_tag(seg + 6, seg_len - 6);
    } else if (marker == 0xE1 && seg_len >= sizeof(kXmp) && std::memcmp(seg, kXmp, sizeof(kXmp)) == 0) {
      xmp_value = xmp_orientation(seg + sizeof(kXmp), seg_len - sizeof(kXmp));
    }
    pos += 2 + len;
  }
  return combine(exif_value, xmp_value);
}

int png_orientation(const uint8_t* d, size_t n) {
  // eXIf chunk; XMP from an uncompressed iTXt "XML:com.adobe.xmp" chunk (a compressed one is not read).
  int exif_value = -1, xmp_value = -1;
  size_t pos = 8;
  while (pos + 12 <= n) {
    const size_t len = (size_t(d[pos]) << 24) | (size_t(d[pos + 1]) << 16) | (size_t(d[pos + 2]) << 8) | d[pos + 3];
    if (len > n - pos - 12) break;
    const uint8_t* type = d + pos + 4;
    const uint8_t* body = d + pos + 8;
    if (std::memcmp(type, "eXIf", 4) == 0 && exif_value < 0) exif_value = tiff_orientation_tag(body, len);
    static const char kKey[] = "XML:com.adobe.xmp";  // keyword, NUL, compression flag, method, lang, NUL, key, NUL
    if (std::memcmp(type, "iTXt", 4) == 0 && len > sizeof(kKey) + 1 && std::memcmp(body, kKey, sizeof(kKey)) == 0 &&
        body[sizeof(kKey)] == 0) {
      size_t p = sizeof(kKey) + 2;  // past the NUL, compression flag and method
      for (int nul = 0; nul < 2 && p < len; p++) {
        if (body[p] == 0) nul++;
      }
      if (p <= len) xmp_value = xmp_orientation(body + p, len - p);
    }
    if (std::memcmp(type, "IEND", 4) == 0) break;
    pos += 12 + len;
  }
  return combine(exif_value, xmp_value);
}

}  // namespace vitrine::image::exif
