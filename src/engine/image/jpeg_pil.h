// Internal to src/engine/image: the parts of a JPEG decode that must match libjpeg-turbo (which PIL uses)
// rather than stb_image, which has its own IDCT, upsampling and colour arithmetic. stb_image still does the
// parsing and the (lossless, hence identical) entropy decoding; these functions replace what comes after.
#pragma once
#include <cstddef>
#include <cstdint>

namespace vitrine::image::jpeg_pil {

// libjpeg-turbo's jpeg_idct_islow (jidctint.c, the default JDCT_ISLOW) on one block of already dequantised
// coefficients in natural (row-major) order, writing 8×8 samples at `out` with row stride `stride`.
// Signature of stb_image's idct_block_kernel so it can be plugged into stb's decoder.
void idct_islow(uint8_t* out, int stride, short coeffs[64]);

// One decoded component plane at its own (subsampled) resolution: `width`×`height` real samples, rows
// `stride` bytes apart.
struct Plane {
  const uint8_t* data = nullptr;
  int width = 0, height = 0, stride = 0;
  int h_samp = 1, v_samp = 1;  // sampling factors from the frame header
};

// libjpeg-turbo's upsampling with do_fancy_upsampling = TRUE (jdsample.c): triangle filters for 2h1v, 1h2v
// and 2h2v, replication for other integral factors. Writes output rows [y0, y1) (image_w samples each,
// contiguous) to `out`, so a caller can work in bands instead of holding full-size planes.
// Returns false for a non-integral sampling ratio (libjpeg refuses those too).
bool upsample(const Plane& plane, int max_h, int max_v, int image_w, int y0, int y1, uint8_t* out);

// Colour conversion of libjpeg-turbo (jdcolor.c, fixed point with 16 fraction bits and lookup tables),
// followed where needed by Pillow's own conversion to RGB. All planes are full size, `count` samples each.
void ycc_to_rgb(const uint8_t* y, const uint8_t* cb, const uint8_t* cr, size_t count, uint8_t* rgb);
// Pillow opens every 4-component JPEG as mode CMYK, reading it with inverted (Adobe) polarity, and its
// convert("RGB") then scales each inverted ink by the black level in its own fixed point. `ycck` selects
// libjpeg's YCCK → CMYK conversion first (Adobe transform 2).
void cmyk_to_rgb(const uint8_t* c0, const uint8_t* c1, const uint8_t* c2, const uint8_t* k, size_t count,
                 bool ycck, uint8_t* rgb);

}  // namespace vitrine::image::jpeg_pil
