// Internal to src/engine/image: the EXIF Orientation tag (0x0112) of a JPEG (first APP1 "Exif" segment, as PIL
// reads it) or a PNG (eXIf chunk). Returns 1..8, or 1 when absent or unreadable: a broken EXIF block must not
// make a decodable photo fail, and PIL ignores it too.
#pragma once
#include <cstddef>
#include <cstdint>

namespace vitrine::image::exif {

int jpeg_orientation(const uint8_t* data, size_t size);
int png_orientation(const uint8_t* data, size_t size);
// The orientation in a TIFF-structured EXIF block (starting at the "II"/"MM" byte-order mark).
int tiff_orientation(const uint8_t* tiff, size_t size);

}  // namespace vitrine::image::exif
