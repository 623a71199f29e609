// The Hugging Face image processor steps (ViTImageProcessor, DeiTImageProcessor, BitImageProcessor with
// use_fast=False, transformers 4.48) in their order: resize (PIL) → center crop → rescale → normalize → CHW.
// The float arithmetic follows transformers' numpy code exactly, so results are bit-identical:
//   rescale:   float32(float64(u8) * rescale_factor)          (image_transforms.rescale upcasts to float64)
//   normalize: (x - float32(mean)) / float32(std) in float32  (a true division, not a reciprocal multiply)
#include <algorithm>
#include <cstdlib>
#include <string>

#include "../alloc.h"
#include "image.h"
#include "resample.h"

namespace vitrine::image {
namespace {

// A shortest_edge resize of a very thin image can ask for an enormous output (1×50000 → 256×12,800,000);
// refuse it instead of allocating gigabytes.
constexpr int64_t kMaxResizedPixels = 50'000'000;

std::string dims(int w, int h) { return std::to_string(w) + "x" + std::to_string(h); }

// transformers.image_transforms.get_resize_output_image_size with default_to_square=False, no max_size:
// the short side becomes `s`, the long side int(s * long / short) (true division in float64, truncated).
void shortest_edge_size(int in_w, int in_h, int s, int* out_w, int* out_h) {
  const bool w_short = in_w <= in_h;
  const int short_side = w_short ? in_w : in_h, long_side = w_short ? in_h : in_w;
  const int new_long = static_cast<int>(static_cast<double>(static_cast<int64_t>(s) * long_side) / short_side);
  *out_w = w_short ? s : new_long;
  *out_h = w_short ? new_long : s;
}

// transformers.image_transforms.center_crop on HWC uint8: the crop origin is floor((orig - crop) / 2); where
// the image is smaller than the crop it is zero-padded, placed at ceil((crop - orig) / 2).
Image center_crop(const Image& in, int crop_w, int crop_h) {
  Image out;
  out.width = crop_w;
  out.height = crop_h;
  out.rgb.assign(static_cast<size_t>(crop_w) * crop_h * 3, 0);
  // Per axis: source start (when cropping) or destination start (when padding).
  auto axis = [](int orig, int crop, int* src0, int* dst0, int* len) {
    if (orig >= crop) {
      *src0 = (orig - crop) / 2;  // non-negative, so / is floor
      *dst0 = 0;
      *len = crop;
    } else {
      *src0 = 0;
      *dst0 = (crop - orig + 1) / 2;  // ceil
      *len = orig;
    }
  };
  int sx, dx, lx, sy, dy, ly;
  axis(in.width, crop_w, &sx, &dx, &lx);
  axis(in.height, crop_h, &sy, &dy, &ly);
  for (int y = 0; y < ly; y++) {
    const uint8_t* s = &in.rgb[(static_cast<size_t>(sy + y) * in.width + sx) * 3];
    uint8_t* d = &out.rgb[(static_cast<size_t>(dy + y) * crop_w + dx) * 3];
    std::copy(s, s + static_cast<size_t>(lx) * 3, d);
  }
  return out;
}

}  // namespace

Status preprocess(const Image& image, const PreprocessConfig& config, std::vector<float>* out, int* out_h,
                  int* out_w) {
  if (out == nullptr || out_h == nullptr || out_w == nullptr) return Status::Err(Code::Image, "preprocess: null output");
  if (image.width < 1 || image.height < 1 ||
      image.rgb.size() != static_cast<size_t>(image.width) * image.height * 3) {
    return Status::Err(Code::Image, "preprocess: the image is empty or its buffer does not match " +
                       dims(image.width, image.height));
  }
  if (config.do_normalize) {
    for (int c = 0; c < 3; c++) {
      if (!(config.image_std[c] != 0.0f)) {
        return Status::Err(Code::Image, "preprocess: image_std[" + std::to_string(c) + "] is zero");
      }
    }
  }

  // do_convert_rgb: decode() always yields RGB, which is what convert("RGB") gives. (With do_convert_rgb
  // false HF would pass gray or RGBA arrays on and fail or emit the wrong channel count.)
  const Image* cur = &image;
  Image resized, cropped;
  if (config.do_resize) {
    int w, h;
    if (config.size.shortest_edge > 0) {
      shortest_edge_size(image.width, image.height, config.size.shortest_edge, &w, &h);
    } else {
      w = config.size.width;
      h = config.size.height;
    }
    if (w < 1 || h < 1) {
      return Status::Err(Code::Image, "preprocess: resize target " + dims(w, h) + " for a " + dims(image.width, image.height) +
                         " image is empty (check size in the preprocess config)");
    }
    if (static_cast<int64_t>(w) * h > kMaxResizedPixels) {
      return Status::Err(Code::Image, "preprocess: resizing " + dims(image.width, image.height) + " to " + dims(w, h) +
                         " exceeds " + std::to_string(kMaxResizedPixels) + " pixels");
    }
    Status st = resize_like_pil(*cur, w, h, config.resample, &resized);
    if (!st.ok()) return st;
    cur = &resized;
  }
  if (config.do_center_crop) {
    const int cw = config.crop_size.width, ch = config.crop_size.height;
    if (cw < 1 || ch < 1 || static_cast<int64_t>(cw) * ch > kMaxResizedPixels) {
      return Status::Err(Code::Image, "preprocess: invalid crop_size " + dims(cw, ch));
    }
    cropped = center_crop(*cur, cw, ch);
    cur = &cropped;
  }

  const int w = cur->width, h = cur->height;
  const size_t plane = static_cast<size_t>(w) * h;
  // Without a resize the output is as large as the photo (12 MP → 144 MB of floats). Probe the allocation so
  // that running out of memory is a named error, not std::bad_alloc aborting the WASM build.
  if (!can_allocate(uint64_t(plane) * 3 * sizeof(float))) {
    return Status::Err(Code::Memory, "preprocess: out of memory for " + dims(w, h) + " float pixels");
  }
  out->resize(plane * 3);
  const double factor = config.rescale_factor;
  for (int c = 0; c < 3; c++) {
    const float mean = config.image_mean[c], std_ = config.image_std[c];
    float* dst = out->data() + plane * c;
    const uint8_t* src = cur->rgb.data() + c;
    // The 256 possible results per channel, computed with numpy's exact operation order.
    float lut[256];
    for (int v = 0; v < 256; v++) {
      float x = config.do_rescale ? static_cast<float>(static_cast<double>(v) * factor) : static_cast<float>(v);
      if (config.do_normalize) x = (x - mean) / std_;
      lut[v] = x;
    }
    for (size_t i = 0; i < plane; i++) dst[i] = lut[src[i * 3]];
  }
  *out_h = h;
  *out_w = w;
  return Status::Ok();
}

}  // namespace vitrine::image
