// Photo bytes → normalised CHW floats, bit-identical to the Hugging Face (PIL-based) image processors.
// decode.cpp: stb_image parsing + libjpeg-turbo's JPEG arithmetic (jpeg_pil.cpp) + EXIF orientation (exif.cpp)
// + PIL's convert("RGB") rules; resample.cpp: PIL's resampling arithmetic; preprocess.cpp: the processor
// steps (resize, center crop, rescale, normalize) in HF's order and float arithmetic. docs/PREPROCESSING.md
// has the details and the measured parity.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "../status.h"

namespace vitrine::image {

// An 8-bit RGB image, rows top to bottom, pixels interleaved R,G,B.
struct Image {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;
};

struct DecodeOptions {
  // true: rotate/flip per the EXIF Orientation tag, as transformers' load_image() and pipelines do
  // (ImageOps.exif_transpose). false: as the image processor given Image.open(...) (PIL does not rotate).
  bool apply_exif_orientation = true;
  int64_t max_pixels = 50'000'000;  // refused from the header alone, before any pixel buffer exists
};

// JPEG (baseline, progressive, gray, CMYK/YCCK), PNG (1-16 bit, palette, alpha, interlaced), GIF (first
// frame), BMP → RGB exactly as PIL's Image.open(...).convert("RGB") (alpha dropped, not composited). Errors
// name the problem (empty, unrecognised or unsupported format, corrupt, truncated, too large, out of memory).

Status decode(const uint8_t* data, size_t size, const DecodeOptions& options, Image* out);

// HF `size`: either {height, width} (shortest_edge == 0) or {shortest_edge}.
struct Size {
  int height = 0, width = 0;
  int shortest_edge = 0;
};

// The fields of a HF image processor config that change pixels (docs/FORMAT.md §5).
struct PreprocessConfig {
  bool do_convert_rgb = true;
  bool do_resize = true;
  Size size{224, 224, 0};
  int resample = 2;  // PIL codes: 0 nearest, 1 lanczos, 2 bilinear, 3 bicubic
  bool do_center_crop = false;
  Size crop_size{224, 224, 0};
  bool do_rescale = true;
  double rescale_factor = 1.0 / 255.0;
  bool do_normalize = true;
  float image_mean[3] = {0.5f, 0.5f, 0.5f};
  float image_std[3] = {0.5f, 0.5f, 0.5f};
};

// resize (PIL filter `resample`) → center crop (zero padding when the crop is larger) → rescale → normalize.
// out: CHW float32, *out_h × *out_w.
Status preprocess(const Image& image, const PreprocessConfig& config, std::vector<float>* out, int* out_h,
                  int* out_w);

}  // namespace vitrine::image
