// Internal to src/engine/image: PIL's Image.resize for 8-bit RGB, bit for bit (resample.cpp).
#pragma once
#include "image.h"

namespace vitrine::image {

// PIL filter codes (PIL.Image.Resampling).
enum PilFilter { kNearest = 0, kLanczos = 1, kBilinear = 2, kBicubic = 3, kBox = 4, kHamming = 5 };

// `in.resize((out_w, out_h), filter)` as Pillow 13 computes it (reducing_gap=None, no box): separable
// convolution whose support widens with the downscale factor (antialiasing), coefficients rounded to 22-bit
// fixed point, and a round-to-uint8 between the two passes.
Status resize_like_pil(const Image& in, int out_w, int out_h, int filter, Image* out);

}  // namespace vitrine::image
