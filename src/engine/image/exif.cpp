// EXIF Orientation lookup. Only IFD0 is read, every offset is bounds-checked against the block.
#include "exif.h"

#include <cstring>

namespace vitrine::image::exif {

int tiff_orientation(const uint8_t* t, size_t n) {
  if (n < 8) return 1;
  bool little;
  if (t[0] == 'I' && t[1] == 'I') {
    little = true;
  } else if (t[0] == 'M' && t[1] == 'M') {
    little = false;
  } else {
    return 1;
  }
  auto u16 = [&](size_t o) -> uint32_t {
    return little ? (t[o] | (t[o + 1] << 8)) : ((t[o] << 8) | t[o + 1]);
  };
  auto u32 = [&](size_t o) -> uint32_t {
    return little ? (uint32_t(t[o]) | uint32_t(t[o + 1]) << 8 | uint32_t(t[o + 2]) << 16 | uint32_t(t[o + 3]) << 24)
                  : (uint32_t(t[o]) << 24 | uint32_t(t[o + 1]) << 16 | uint32_t(t[o + 2]) << 8 | uint32_t(t[o + 3]));
  };
  if (u16(2) != 42) return 1;
  const size_t ifd = u32(4);
  if (ifd > n || n - ifd < 2) return 1;
  const size_t entries = u16(ifd);
  for (size_t i = 0; i < entries; i++) {
    const size_t e = ifd + 2 + i * 12;
    if (e + 12 > n) break;
    if (u16(e) != 0x0112) continue;
    const uint32_t type = u16(e + 2);
    uint32_t value;
    if (type == 3) {
      value = u16(e + 8);  // SHORT, left-justified in the 4-byte value field
    } else if (type == 4) {
      value = u32(e + 8);  // LONG (unusual, but PIL accepts it)
    } else {
      return 1;
    }
    return value >= 1 && value <= 8 ? static_cast<int>(value) : 1;
  }
  return 1;
}

int jpeg_orientation(const uint8_t* d, size_t n) {
  // Walk the marker segments from SOI up to the first SOS; the first APP1 that starts with "Exif\0\0" counts.
  size_t pos = 2;
  while (pos + 4 <= n) {
    if (d[pos] != 0xFF) return 1;
    uint8_t marker = d[pos + 1];
    if (marker == 0xFF) {  // fill byte
      pos++;
      continue;
    }
    if (marker == 0xDA || marker == 0xD9) return 1;  // start of scan / end of image: no EXIF in the header
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {  // standalone markers
      pos += 2;
      continue;
    }
    const size_t len = (size_t(d[pos + 2]) << 8) | d[pos + 3];
    if (len < 2 || pos + 2 + len > n) return 1;
    const uint8_t* seg = d + pos + 4;
    const size_t seg_len = len - 2;
    if (marker == 0xE1 && seg_len >= 6 && std::memcmp(seg, "Exif\0\0", 6) == 0) {
      return tiff_orientation(seg + 6, seg_len - 6);
    }
    pos += 2 + len;
  }
  return 1;
}

int png_orientation(const uint8_t* d, size_t n) {
  size_t pos = 8;
  while (pos + 12 <= n) {
    const size_t len = (size_t(d[pos]) << 24) | (size_t(d[pos + 1]) << 16) | (size_t(d[pos + 2]) << 8) | d[pos + 3];
    if (len > n - pos - 12) return 1;
    if (std::memcmp(d + pos + 4, "eXIf", 4) == 0) return tiff_orientation(d + pos + 8, len);
    if (std::memcmp(d + pos + 4, "IEND", 4) == 0) return 1;
    pos += 12 + len;
  }
  return 1;
}

}  // namespace vitrine::image::exif
