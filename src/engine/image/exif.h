// Internal to src/engine/image: the orientation PIL's ImageOps.exif_transpose acts on, for a JPEG (first APP1
// "Exif" segment; XMP tiff:Orientation when EXIF has no Orientation tag) or a PNG (eXIf chunk; XMP iTXt).
// Returns 1..8, or 1 when absent or unreadable: a broken EXIF block must not make a decodable photo fail, and
// PIL ignores it too.
#pragma once
#include <cstddef>
#include <cstdint>

namespace vitrine::image::exif {

int jpeg_orientation(const uint8_t* data, size_t size);
int png_orientation(const uint8_t* data, size_t size);
// The orientation in a TIFF-structured EXIF block (starting at the "II"/"MM" byte-order mark), 1..8.
int tiff_orientation(const uint8_t* tiff, size_t size);
// The raw Orientation tag value of that block, or -1 when the block has no such tag.
int tiff_orientation_tag(const uint8_t* tiff, size_t size);

}  // namespace vitrine::image::exif
