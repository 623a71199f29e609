// Photo bytes → image::decode (JPEG/PNG/GIF/BMP, EXIF orientation, pixel budget from the header) →
// image::preprocess (resize with each PIL filter, center crop or pad, rescale, normalise), the path of
// Engine::preprocess. The first 4 bytes choose the processor config and budget; the rest is the file. Any bytes
// give a Status; on success the output has exactly the size the config asks for.
#include <cstddef>
#include <cstdint>

#include "image/image.h"

namespace img = vitrine::image;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  const uint8_t a = data[0], b = data[1], c = data[2], d = data[3];
  img::DecodeOptions options;
  options.apply_exif_orientation = a & 1;
  // Budgets from "nothing" to 4 megapixels: the refusal path and real decodes both get exercised, while a
  // header claiming a huge image cannot make one run take minutes.
  static const int64_t budgets[4] = {0, 4096, 1 << 20, 4 << 20};
  options.max_pixels = budgets[(a >> 1) & 3];
  img::PreprocessConfig config;
  config.do_resize = a & 8;
  config.resample = b % 6;
  if (a & 16) {
    config.size = {0, 0, 1 + c % 64};
  } else {
    config.size = {1 + c % 48, 1 + d % 48, 0};
  }
  config.do_center_crop = a & 32;
  config.crop_size = {1 + d % 40, 1 + (b >> 3) % 40, 0};
  config.do_rescale = a & 64;
  config.do_normalize = a & 128;
  img::Image image;
  if (!img::decode(data + 4, size - 4, options, &image).ok()) return 0;
  if (image.width < 1 || image.height < 1 || int64_t(image.width) * image.height > options.max_pixels ||
      image.rgb.size() != size_t(image.width) * image.height * 3)
    __builtin_trap();
  std::vector<float> pixels;
  int h = 0, w = 0;
  if (!img::preprocess(image, config, &pixels, &h, &w).ok()) return 0;
  if (pixels.size() != size_t(3) * h * w) __builtin_trap();
  if (config.do_center_crop && (h != config.crop_size.height || w != config.crop_size.width)) __builtin_trap();
  return 0;
}
