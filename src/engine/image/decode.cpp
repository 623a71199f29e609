// Encoded bytes → 8-bit RGB equal to PIL's Image.open(...).convert("RGB") (optionally after
// ImageOps.exif_transpose, which is what transformers' load_image and pipelines do).
//
// stb_image parses every format. For JPEG we keep stb's parser and entropy decoder (lossless, so identical to
// libjpeg's) but replace everything after it with libjpeg-turbo's arithmetic (jpeg_pil.cpp): stb's own IDCT,
// chroma upsampling and YCbCr conversion differ from libjpeg by ±1 on a large share of pixels, and PIL decodes
// with libjpeg-turbo. The size budget is checked from the header alone, before any pixel buffer is allocated.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "../alloc.h"
#include "exif.h"
#include "image.h"
#include "jpeg_pil.h"

// stb_image, private to this file (static functions, no exported symbols). Only the formats we accept are
// compiled in. Its failure reason is thread_local, so concurrent decodes in different threads do not clash.
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_JPEG
#define STBI_ONLY_PNG
#define STBI_ONLY_BMP
#define STBI_ONLY_GIF
#define STBI_NO_STDIO
#define STBI_NO_LINEAR
#define STBI_NO_HDR
// stb's internal asserts would abort a debug build; release builds compile them out anyway (NDEBUG), and
// every failure we care about comes back as an error from stb.
#define STBI_ASSERT(x) ((void)0)
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#endif
#include <stb_image.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

namespace vitrine::image {
namespace {

enum class Format { Jpeg, Png, Gif, Bmp };

const char* format_name(Format f) {
  switch (f) {
    case Format::Jpeg: return "JPEG";
    case Format::Png: return "PNG";
    case Format::Gif: return "GIF";
    case Format::Bmp: return "BMP";
  }
  return "?";
}

std::string hex_prefix(const uint8_t* data, size_t size) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < size && i < 8; i++) {
    if (i) s += ' ';
    s += digits[data[i] >> 4];
    s += digits[data[i] & 15];
  }
  return s;
}

// Identify the container from its signature. Known formats we do not decode get an error naming them.
Status sniff(const uint8_t* d, size_t n, Format* out) {
  if (n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF) return *out = Format::Jpeg, Status::Ok();
  if (n >= 8 && std::memcmp(d, "\x89PNG\r\n\x1a\n", 8) == 0) return *out = Format::Png, Status::Ok();
  if (n >= 6 && (std::memcmp(d, "GIF87a", 6) == 0 || std::memcmp(d, "GIF89a", 6) == 0)) {
    return *out = Format::Gif, Status::Ok();
  }
  if (n >= 2 && d[0] == 'B' && d[1] == 'M') return *out = Format::Bmp, Status::Ok();
  if (n >= 12 && std::memcmp(d, "RIFF", 4) == 0 && std::memcmp(d + 8, "WEBP", 4) == 0) {
    return Status::Err(Code::Image, "unsupported image format: WebP (supported: JPEG, PNG, GIF, BMP)");
  }
  if (n >= 12 && std::memcmp(d + 4, "ftyp", 4) == 0) {
    return Status::Err(Code::Image, "unsupported image format: HEIF/AVIF (ISO BMFF '" + std::string(d + 8, d + 12) +
                       "'; supported: JPEG, PNG, GIF, BMP)");
  }
  if (n >= 4 && (std::memcmp(d, "II*\0", 4) == 0 || std::memcmp(d, "MM\0*", 4) == 0)) {
    return Status::Err(Code::Image, "unsupported image format: TIFF (supported: JPEG, PNG, GIF, BMP)");
  }
  bool text = n > 0;
  for (size_t i = 0; i < n && i < 256; i++) {
    const uint8_t c = d[i];
    if (c < 9 || (c > 13 && c < 32 && c != 27) || c == 127) text = false;
  }
  if (text) return Status::Err(Code::Image, "not an image: the data looks like text (" + std::to_string(n) + " bytes)");
  return Status::Err(Code::Image, "unrecognised image format (first bytes: " + hex_prefix(d, n) +
                     "); supported: JPEG, PNG, GIF, BMP");
}

std::string stb_reason() {
  const char* r = stbi_failure_reason();
  return r ? r : "unknown error";
}

// Resizes `v` to `n` bytes, or fails with a named error instead of letting std::bad_alloc abort the WASM build
// (exceptions are off there; alloc.h). The probe is released right before the vector takes the same amount,
// which the allocator can then hand out again.
Status allocate(std::vector<uint8_t>* v, size_t n, const char* what) {
  if (!can_allocate(n)) {
    return Status::Err(Code::Memory, "out of memory: " + std::to_string(n) + " bytes for the " + what);
  }
  v->resize(n);
  return Status::Ok();
}

// An stb failure as a named error: running out of memory is not corruption, so it says which it was.
Status stb_error(const std::string& what) {
  const std::string reason = stb_reason();
  if (reason == "outofmem") return Status::Err(Code::Memory, "out of memory while decoding " + what);
  return Status::Err(Code::Image, "corrupt " + what + ": " + reason);
}

// ---- JPEG: stb parser + entropy decoder, libjpeg-turbo arithmetic ----

// A walk over the marker segments before stb sees the file:
// - stb_image 2.27 (Debian's) trusts the symbol count of a Huffman table: a DHT segment whose 16 code-length
//   counts add up to more than 256 writes past its 257-entry arrays (fixed upstream in 2.28). Every DHT
//   segment, including those between progressive scans, is checked.
// - every scan costs a pass over the whole image, so a small file with thousands of scans is a CPU bomb;
//   more than kMaxScans is refused (the limit TurboJPEG 3 applies by default; real files have about 10).
// - JPEG kinds stb cannot decode (arithmetic coding, lossless, hierarchical, 12-bit) get an error naming
//   them instead of stb's "unknown marker" or "only 8-bit".
constexpr int kMaxScans = 500;

Status jpeg_precheck(const uint8_t* d, size_t n) {
  int scans = 0;
  size_t pos = 2;
  while (pos + 4 <= n) {
    if (d[pos] != 0xFF) {
      pos++;
      continue;
    }
    const uint8_t m = d[pos + 1];
    if (m == 0xFF) {  // fill byte
      pos++;
      continue;
    }
    if (m == 0x00 || m == 0x01 || m == 0xD8 || (m >= 0xD0 && m <= 0xD7)) {  // no length field
      pos += 2;
      continue;
    }
    if (m == 0xD9) break;  // EOI
    const size_t len = (size_t(d[pos + 2]) << 8) | d[pos + 3];
    if (len < 2) break;  // stb refuses it
    // SOF3/5-7/9-11/13-15: lossless, hierarchical or arithmetic-coded JPEG, which stb cannot decode (libjpeg,
    // and so PIL, decodes the arithmetic-coded ones). Say so instead of "corrupt".
    if (m == 0xC3 || (m >= 0xC5 && m <= 0xC7) || (m >= 0xC9 && m <= 0xCB) || (m >= 0xCD && m <= 0xCF)) {
      static const char* kinds[] = {"lossless", "", "differential sequential (hierarchical)",
                                    "differential progressive (hierarchical)", "differential lossless (hierarchical)",
                                    "", "arithmetic-coded sequential", "arithmetic-coded progressive",
                                    "arithmetic-coded lossless", "", "arithmetic-coded differential sequential",
                                    "arithmetic-coded differential progressive", "arithmetic-coded differential lossless"};
      return Status::Err(Code::Image, std::string("unsupported JPEG: ") + kinds[m - 0xC3] +
                         " (only baseline and progressive Huffman-coded JPEG are supported)");
    }
    if ((m == 0xC0 || m == 0xC1 || m == 0xC2) && pos + 4 < n && d[pos + 4] != 8) {
      return Status::Err(Code::Image, "unsupported JPEG: " + std::to_string(d[pos + 4]) +
                         "-bit samples (only 8-bit JPEG is supported)");
    }
    if (m == 0xC4) {
      // stb reads zeros past the end of the data, so a truncated DHT is checked the same way.
      auto byte = [&](size_t i) -> size_t { return i < n ? d[i] : 0; };
      size_t p = pos + 4;
      const size_t end = pos + 2 + len;
      while (p < end) {
        if (end - p < 17) return Status::Err(Code::Image, "corrupt JPEG: bad Huffman table (DHT) segment");
        size_t symbols = 0;
        for (int i = 1; i <= 16; i++) symbols += byte(p + i);
        if (symbols > 256 || end - p - 17 < symbols) {
          return Status::Err(Code::Image, "corrupt JPEG: bad Huffman table (DHT) with " + std::to_string(symbols) + " symbols");
        }
        p += 17 + symbols;
      }
    }
    if (pos + 2 + len > n) break;  // truncated: stb reports it
    pos += 2 + len;
    if (m == 0xDA && ++scans > kMaxScans) {
      return Status::Err(Code::Image, "corrupt JPEG: more than " + std::to_string(kMaxScans) + " scans");
    }
    if (m == 0xDA) {  // entropy-coded data follows: skip to the next marker (0xFF not followed by 0 or RSTn)
      while (pos + 1 < n && !(d[pos] == 0xFF && d[pos + 1] != 0x00 && !(d[pos + 1] >= 0xD0 && d[pos + 1] <= 0xD7))) {
        pos++;
      }
    }
  }
  return Status::Ok();
}

struct JpegDeleter {
  void operator()(stbi__jpeg* j) const {
    if (j) stbi__cleanup_jpeg(j);  // frees the component planes; safe after partial failures
    delete j;
  }
};

Status decode_jpeg(const uint8_t* data, size_t size, Image* out) {
  stbi__context ctx;
  stbi__start_mem(&ctx, data, static_cast<int>(size));
  ctx.img_n = 0;  // makes the cleanup safe if parsing fails before the frame header
  std::unique_ptr<stbi__jpeg, JpegDeleter> j(new stbi__jpeg());
  j->s = &ctx;
  stbi__setup_jpeg(j.get());
  j->idct_block_kernel = jpeg_pil::idct_islow;  // libjpeg's islow IDCT instead of stb's
  if (!stbi__decode_jpeg_image(j.get())) {
    // stb zero-fills past the end of the data and then fails when no EOI marker follows; having consumed
    // every byte is how a truncated file shows. (PIL: "OSError: image file is truncated".)
    if (ctx.img_buffer >= ctx.img_buffer_end) {
      return Status::Err(Code::Image, "truncated JPEG: the data ends before the image does (" + std::to_string(size) +
                         " bytes; PIL also refuses it: 'image file is truncated')");
    }
    return stb_error("JPEG");
  }
  const int w = static_cast<int>(ctx.img_x), h = static_cast<int>(ctx.img_y), n = ctx.img_n;
  const size_t count = static_cast<size_t>(w) * h;

  out->width = w;
  out->height = h;
  Status st = allocate(&out->rgb, count * 3, "decoded RGB image");
  if (!st.ok()) return st;

  // libjpeg's colour space guess (jdapimin.c default_decompress_parms).
  const bool saw_adobe = j->app14_color_transform >= 0;
  bool is_rgb = false, ycck = false;
  if (n == 3) {
    if (j->jfif) {
      is_rgb = false;
    } else if (saw_adobe) {
      is_rgb = j->app14_color_transform == 0;
    } else {
      is_rgb = j->img_comp[0].id == 'R' && j->img_comp[1].id == 'G' && j->img_comp[2].id == 'B';
    }
  } else if (n == 4) {
    // CMYK, or YCCK when Adobe says transform 2 (or an unknown transform: libjpeg assumes YCCK).
    ycck = saw_adobe && j->app14_color_transform != 0;
  } else if (n != 1) {
    return Status::Err(Code::Image, "unsupported JPEG: " + std::to_string(n) + " components");
  }

  // Upsample (libjpeg's fancy upsampling) and convert in bands of rows: no full-size copies of the planes.
  constexpr int kBand = 16;
  const size_t band_samples = static_cast<size_t>(w) * kBand;
  std::vector<uint8_t> band(band_samples * n);
  for (int y0 = 0; y0 < h; y0 += kBand) {
    const int y1 = std::min(h, y0 + kBand);
    const size_t samples = static_cast<size_t>(w) * (y1 - y0);
    for (int k = 0; k < n; k++) {
      const auto& c = j->img_comp[k];
      jpeg_pil::Plane p;
      p.data = c.data;
      p.width = c.x;
      p.height = c.y;
      p.stride = c.w2;
      p.h_samp = c.h;
      p.v_samp = c.v;
      if (!jpeg_pil::upsample(p, j->img_h_max, j->img_v_max, w, y0, y1, &band[band_samples * k])) {
        return Status::Err(Code::Image, "unsupported JPEG: fractional chroma sampling factors");
      }
    }
    const uint8_t* b = band.data();
    uint8_t* rgb = out->rgb.data() + static_cast<size_t>(y0) * w * 3;
    if (n == 1) {  // grayscale: PIL mode "L", and convert("RGB") repeats it
      for (size_t i = 0; i < samples; i++) rgb[i * 3] = rgb[i * 3 + 1] = rgb[i * 3 + 2] = b[i];
    } else if (n == 3 && is_rgb) {
      for (size_t i = 0; i < samples; i++) {
        rgb[i * 3] = b[i], rgb[i * 3 + 1] = b[band_samples + i], rgb[i * 3 + 2] = b[2 * band_samples + i];
      }
    } else if (n == 3) {
      jpeg_pil::ycc_to_rgb(b, b + band_samples, b + 2 * band_samples, samples, rgb);
    } else {
      jpeg_pil::cmyk_to_rgb(b, b + band_samples, b + 2 * band_samples, b + 3 * band_samples, samples, ycck, rgb);
    }
  }
  return Status::Ok();
}

// ---- PNG ----

Status decode_stb_rgb(const uint8_t* data, size_t size, const char* name, Image* out);

// Bit depth and colour type from IHDR (stb does not report them; PIL's conversion depends on both).
bool png_ihdr(const uint8_t* d, size_t n, int* depth, int* color_type) {
  if (n < 33 || std::memcmp(d + 12, "IHDR", 4) != 0) return false;
  *depth = d[24];
  *color_type = d[25];
  return true;
}

Status decode_png(const uint8_t* data, size_t size, Image* out) {
  int depth = 0, color_type = 0;
  if (!png_ihdr(data, size, &depth, &color_type)) return Status::Err(Code::Image, "corrupt PNG: no IHDR chunk");
  int w = 0, h = 0, comp = 0;
  if (depth == 16 && color_type == 0) {
    // PIL opens 16-bit grayscale as mode "I;16", and its I;16 → RGB conversion CLIPS to 255 (it does not
    // scale): any value above 255 becomes white. Reproduced as is, for parity.
    // (Asking for one channel drops a tRNS alpha.)
    std::unique_ptr<stbi_us, void (*)(void*)> px(
        stbi_load_16_from_memory(data, static_cast<int>(size), &w, &h, &comp, 1), stbi_image_free);
    if (!px) return stb_error("PNG");
    const size_t count = static_cast<size_t>(w) * h;
    out->width = w, out->height = h;
    Status st = allocate(&out->rgb, count * 3, "decoded RGB image");
    if (!st.ok()) return st;
    for (size_t i = 0; i < count; i++) {
      const unsigned v = px.get()[i];
      const uint8_t g = static_cast<uint8_t>(v > 255 ? 255 : v);
      out->rgb[i * 3] = out->rgb[i * 3 + 1] = out->rgb[i * 3 + 2] = g;
    }
    return Status::Ok();
  }
  // Everything else: stb's 8-bit result equals PIL's. 16-bit samples keep their high byte (PIL's "RGB;16B",
  // "RGBA;16B", "LA;16B" raw modes do the same); palettes are expanded; 1/2/4-bit gray is scaled to 0..255.
  // Asking stb for 3 channels repeats gray and drops alpha (not composited), as convert("RGB") does.
  return decode_stb_rgb(data, size, "PNG", out);
}

// ---- GIF and BMP ----

// GIF differences between stb and PIL, both about the first frame, fixed around stb:
// - stb leaves pixels of the transparent colour index unwritten (black); PIL reads the frame as mode "P" and
//   convert("RGB") shows that index's palette colour. Clearing the transparency flag of the Graphic Control
//   Extensions before the first image makes stb do the same.
// - canvas pixels outside the first frame's rectangle: stb paints the background colour (or black); PIL
//   fills its canvas with the frame's transparent index, or index 0 without one, in the frame's palette.
struct GifFrame0 {
  bool found = false;
  int left = 0, top = 0, width = 0, height = 0;
  int fill_index = 0;       // what PIL fills the canvas with
  size_t table = 0;         // offset of the palette the frame uses (local, else global), 0 = none
  int table_entries = 0;
};

GifFrame0 gif_prepare_first_frame(std::vector<uint8_t>& g) {
  GifFrame0 f;
  if (g.size() < 13) return f;
  size_t pos = 13;
  size_t global = 0;
  int global_entries = 0;
  if (g[10] & 0x80) {
    global = 13;
    global_entries = 2 << (g[10] & 7);
    pos += 3u * global_entries;
  }
  while (pos < g.size()) {
    const uint8_t tag = g[pos];
    if (tag == 0x2C) {  // the first image descriptor
      if (pos + 10 > g.size()) return f;
      f.left = g[pos + 1] | (g[pos + 2] << 8);
      f.top = g[pos + 3] | (g[pos + 4] << 8);
      f.width = g[pos + 5] | (g[pos + 6] << 8);
      f.height = g[pos + 7] | (g[pos + 8] << 8);
      const uint8_t flags = g[pos + 9];
      if (flags & 0x80) {
        f.table = pos + 10;
        f.table_entries = 2 << (flags & 7);
      } else {
        f.table = global;
        f.table_entries = global_entries;
      }
      if (f.table + 3u * f.table_entries > g.size()) f.table_entries = 0;
      f.found = f.table != 0;
      return f;
    }
    if (tag != 0x21 || pos + 2 > g.size()) return f;  // trailer or garbage: stb will report it
    const uint8_t label = g[pos + 1];
    size_t p = pos + 2;
    if (label == 0xF9 && p + 4 < g.size() && g[p] >= 4) {
      if (g[p + 1] & 1) f.fill_index = g[p + 4];  // the last GCE before the image wins, in stb and PIL
      g[p + 1] &= static_cast<uint8_t>(~1u);
    }
    while (p < g.size() && g[p] != 0) p += 1u + g[p];  // skip sub-blocks
    pos = p + 1;
  }
  return f;
}

void gif_fill_outside_first_frame(const std::vector<uint8_t>& g, const GifFrame0& f, Image* im) {
  if (!f.found) return;
  uint8_t rgb[3] = {0, 0, 0};
  if (f.fill_index < f.table_entries) std::memcpy(rgb, &g[f.table + 3u * f.fill_index], 3);
  for (int y = 0; y < im->height; y++) {
    const bool row_inside = y >= f.top && y < f.top + f.height;
    for (int x = 0; x < im->width; x++) {
      if (row_inside && x >= f.left && x < f.left + f.width) continue;
      std::memcpy(&im->rgb[(static_cast<size_t>(y) * im->width + x) * 3], rgb, 3);
    }
  }
}

// 16-bit BMP: stb widens 5- and 6-bit channels by bit replication ((v << 3) | (v >> 2)), PIL by
// v * 255 / 31 (and v * 255 / 63) truncated, which differs for some values. Replication keeps v in the top
// bits, so stb's result maps back to v and on to PIL's value. Only PIL's two layouts are remapped: 5-5-5
// (BI_RGB) and 5-6-5 or 5-5-5 bitfields; PIL refuses other bitfield layouts.
void bmp16_like_pil(const uint8_t* d, size_t n, Image* im) {
  if (n < 34) return;
  auto u16 = [&](size_t o) { return uint32_t(d[o]) | uint32_t(d[o + 1]) << 8; };
  auto u32 = [&](size_t o) { return u16(o) | u16(o + 2) << 16; };
  if (u32(14) < 40 || u16(28) != 16) return;
  const uint32_t compression = u32(30);
  bool g6 = false;
  if (compression == 3) {
    if (n < 66) return;
    const uint32_t r = u32(54), g = u32(58), b = u32(62);
    if (r == 0xF800 && g == 0x7E0 && b == 0x1F) {
      g6 = true;
    } else if (!(r == 0x7C00 && g == 0x3E0 && b == 0x1F)) {
      return;
    }
  } else if (compression != 0) {
    return;
  }
  uint8_t five[256], six[256];
  for (int x = 0; x < 256; x++) {
    five[x] = static_cast<uint8_t>((x >> 3) * 255 / 31);
    six[x] = static_cast<uint8_t>((x >> 2) * 255 / 63);
  }
  uint8_t* p = im->rgb.data();
  for (size_t i = 0; i < im->rgb.size(); i += 3) {
    p[i] = five[p[i]];
    p[i + 1] = g6 ? six[p[i + 1]] : five[p[i + 1]];
    p[i + 2] = five[p[i + 2]];
  }
}

// PNG (8-bit results), GIF and BMP: stb's RGB output (3 channels requested: gray repeated, alpha dropped).
Status decode_stb_rgb(const uint8_t* data, size_t size, const char* name, Image* out) {
  int w = 0, h = 0, comp = 0;
  std::unique_ptr<stbi_uc, void (*)(void*)> px(stbi_load_from_memory(data, static_cast<int>(size), &w, &h, &comp, 3),
                                               stbi_image_free);
  if (!px) return stb_error(name);
  out->width = w, out->height = h;
  const size_t n = static_cast<size_t>(w) * h * 3;
  Status st = allocate(&out->rgb, n, "decoded RGB image");
  if (!st.ok()) return st;
  std::memcpy(out->rgb.data(), px.get(), n);
  return Status::Ok();
}

// ---- EXIF orientation (PIL's ImageOps.exif_transpose) ----

Status apply_orientation(const Image& in, int orientation, Image* result) {
  const int W = in.width, H = in.height;
  const bool swap = orientation >= 5;  // 5..8 transpose the axes
  Image out;
  out.width = swap ? H : W;
  out.height = swap ? W : H;
  Status st = allocate(&out.rgb, in.rgb.size(), "EXIF-rotated image");
  if (!st.ok()) return st;
  for (int y = 0; y < out.height; y++) {
    for (int x = 0; x < out.width; x++) {
      int sx = x, sy = y;
      switch (orientation) {
        case 2: sx = W - 1 - x; break;                       // FLIP_LEFT_RIGHT
        case 3: sx = W - 1 - x, sy = H - 1 - y; break;       // ROTATE_180
        case 4: sy = H - 1 - y; break;                       // FLIP_TOP_BOTTOM
        case 5: sx = y, sy = x; break;                       // TRANSPOSE
        case 6: sx = y, sy = H - 1 - x; break;               // ROTATE_270 (90° clockwise)
        case 7: sx = W - 1 - y, sy = H - 1 - x; break;       // TRANSVERSE
        case 8: sx = W - 1 - y, sy = x; break;               // ROTATE_90 (90° counter-clockwise)
        default: break;
      }
      const uint8_t* s = &in.rgb[(static_cast<size_t>(sy) * W + sx) * 3];
      uint8_t* d = &out.rgb[(static_cast<size_t>(y) * out.width + x) * 3];
      d[0] = s[0], d[1] = s[1], d[2] = s[2];
    }
  }
  *result = std::move(out);
  return Status::Ok();
}

}  // namespace

Status decode(const uint8_t* data, size_t size, const DecodeOptions& options, Image* out) {
  if (out == nullptr) return Status::Err(Code::Image, "decode: no output image");
  *out = Image{};
  if (data == nullptr || size == 0) return Status::Err(Code::Image, "empty input: 0 bytes is not an image");
  Format f;
  Status st = sniff(data, size, &f);
  if (!st.ok()) return st;
  if (size > static_cast<size_t>(INT32_MAX)) {
    return Status::Err(Code::Image, "image file too large: " + std::to_string(size) + " bytes (limit 2 GiB)");
  }
  if (f == Format::Jpeg) {
    st = jpeg_precheck(data, size);
    if (!st.ok()) return st;
  }
  // Dimensions from the header alone: nothing the size of the image is allocated before this check.
  // PNG sizes come straight from IHDR: stb's header check refuses anything over 2^30 bytes with a generic
  // "unknown image type", and we want the budget error to name the size.
  int64_t w = 0, h = 0;
  if (f == Format::Png) {
    if (size < 33 || std::memcmp(data + 12, "IHDR", 4) != 0) return Status::Err(Code::Image, "corrupt PNG header: no IHDR chunk");
    w = (int64_t{data[16]} << 24) | (data[17] << 16) | (data[18] << 8) | data[19];
    h = (int64_t{data[20]} << 24) | (data[21] << 16) | (data[22] << 8) | data[23];
  } else {
    int iw = 0, ih = 0, comp = 0;
    if (!stbi_info_from_memory(data, static_cast<int>(size), &iw, &ih, &comp)) {
      return Status::Err(Code::Image, std::string("corrupt ") + format_name(f) + " header: " + stb_reason());
    }
    w = iw, h = ih;
  }
  if (w <= 0 || h <= 0) return Status::Err(Code::Image, std::string("corrupt ") + format_name(f) + " header: zero size");
  // Both sides are below 2^32 (PNG stores 32-bit sizes, the others less), so the product fits in 64 bits.
  const uint64_t pixels = static_cast<uint64_t>(w) * static_cast<uint64_t>(h);
  if (options.max_pixels < 0 || pixels > static_cast<uint64_t>(options.max_pixels)) {
    return Status::Err(Code::Image, "image too large: " + std::to_string(w) + "x" + std::to_string(h) + " = " +
                       std::to_string(pixels) + " pixels, over the budget of " +
                       std::to_string(options.max_pixels) + " (refused from the header, nothing decoded)");
  }

  switch (f) {
    case Format::Jpeg: st = decode_jpeg(data, size, out); break;
    case Format::Png: st = decode_png(data, size, out); break;
    case Format::Gif: {
      std::vector<uint8_t> patched;
      st = allocate(&patched, size, "GIF copy");
      if (!st.ok()) return st;
      std::memcpy(patched.data(), data, size);
      const GifFrame0 frame0 = gif_prepare_first_frame(patched);
      st = decode_stb_rgb(patched.data(), size, "GIF", out);
      if (st.ok()) gif_fill_outside_first_frame(patched, frame0, out);
      break;
    }
    case Format::Bmp:
      st = decode_stb_rgb(data, size, "BMP", out);
      if (st.ok()) bmp16_like_pil(data, size, out);
      break;
  }
  if (!st.ok()) {
    *out = Image{};
    return st;
  }
  if (options.apply_exif_orientation) {
    const int orientation = f == Format::Jpeg ? exif::jpeg_orientation(data, size)
                            : f == Format::Png ? exif::png_orientation(data, size)
                                               : 1;
    if (orientation >= 2 && orientation <= 8) {
      Image rotated;
      st = apply_orientation(*out, orientation, &rotated);
      if (!st.ok()) {
        *out = Image{};
        return st;
      }
      *out = std::move(rotated);
    }
  }
  return Status::Ok();
}

}  // namespace vitrine::image
