#!/usr/bin/env python3
"""Golden fixtures for the pixel pipeline (issue 5): what the REAL Hugging Face image processors
(transformers 4.48, use_fast=False, PIL) produce, for wasm-tests/engine/pixels.test.js.

    tools/.venv/bin/python tools/reference/make_pixel_fixtures.py

Writes wasm-tests/fixtures/pixels/:
  inputs/           small odd images generated here (EXIF orientations 1-8, gray/progressive/subsampled JPEGs,
                    PNG with alpha / palette / 16 bit, GIF, BMP, 1x1, a 5000x300 panorama, bad files, ...)
  goldens/*.grad.npy.gz  per case, the uint8 HWC image after resize + crop that HF normalised (stored as
                    gradient-predictor residuals, see save_golden). It is recovered
                    from HF's float pixel_values by inverting the per-channel lookup of the 256 possible
                    values, and the script asserts the round trip reproduces pixel_values bit for bit.
  cases.json        per case: image (path relative to the project root), processor config (docs/FORMAT.md §5
                    form), exif mode, expected shape, SHA-256 of HF's float32 CHW bytes (exact parity),
                    the golden file; per input the SHA-256 of PIL's decoded RGB; for bad inputs the error.

Photos are read from ../shared/photos at test time and never copied. The input to each processor is what
transformers' load_image gives (ImageOps.exif_transpose + convert("RGB")) when exif is true, and
Image.open(...).convert("RGB") when exif is false (the processor alone never rotates).
"""
import gzip
import hashlib
import io
import json
import os
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps
from transformers import (BitImageProcessor, CLIPImageProcessor, DeiTImageProcessor, SiglipImageProcessor,
                          ViTImageProcessor)
from transformers.image_utils import load_image

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "wasm-tests/fixtures/pixels"
INPUTS = OUT / "inputs"
GOLDENS = OUT / "goldens"
PHOTOS = (ROOT / "../shared/photos").resolve()
PHOTOS_REL = "../shared/photos"

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]

# The preprocessor_config.json of the reference checkpoints, normalised to docs/FORMAT.md §5, plus variants
# that exercise the other PIL filters and the zero padding of center_crop.
PROCESSORS = {
    # google/vit-base-patch16-224
    "vit": ("ViTImageProcessor", dict(do_resize=True, size={"height": 224, "width": 224}, resample=2,
                                      do_rescale=True, rescale_factor=1 / 255, do_normalize=True,
                                      image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5])),
    # facebook/deit-base-distilled-patch16-224
    "deit": ("DeiTImageProcessor", dict(do_resize=True, size={"height": 256, "width": 256}, resample=3,
                                        do_center_crop=True, crop_size={"height": 224, "width": 224},
                                        do_rescale=True, rescale_factor=1 / 255, do_normalize=True,
                                        image_mean=IMAGENET_MEAN, image_std=IMAGENET_STD)),
    # facebook/dinov2-small / -base
    "dinov2": ("BitImageProcessor", dict(do_convert_rgb=True, do_resize=True, size={"shortest_edge": 256},
                                         resample=3, do_center_crop=True, crop_size={"height": 224, "width": 224},
                                         do_rescale=True, rescale_factor=1 / 255, do_normalize=True,
                                         image_mean=IMAGENET_MEAN, image_std=IMAGENET_STD)),
    # openai/clip-vit-base-patch32 (and -patch16, -large-patch14)
    "clip": ("CLIPImageProcessor", dict(do_convert_rgb=True, do_resize=True, size={"shortest_edge": 224},
                                        resample=3, do_center_crop=True, crop_size={"height": 224, "width": 224},
                                        do_rescale=True, rescale_factor=1 / 255, do_normalize=True,
                                        image_mean=CLIP_MEAN, image_std=CLIP_STD)),
    # google/siglip-base-patch16-224
    "siglip": ("SiglipImageProcessor", dict(do_resize=True, size={"height": 224, "width": 224}, resample=3,
                                            do_rescale=True, rescale_factor=1 / 255, do_normalize=True,
                                            image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5])),
    # the same two processors at small sizes, for the odd inputs (small goldens)
    "clip_small": ("CLIPImageProcessor", dict(do_convert_rgb=True, do_resize=True, size={"shortest_edge": 40},
                                              resample=3, do_center_crop=True, crop_size={"height": 36, "width": 36},
                                              do_rescale=True, rescale_factor=1 / 255, do_normalize=True,
                                              image_mean=CLIP_MEAN, image_std=CLIP_STD)),
    "siglip_small": ("SiglipImageProcessor", dict(do_resize=True, size={"height": 48, "width": 48}, resample=3,
                                                  do_rescale=True, rescale_factor=1 / 255, do_normalize=True,
                                                  image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5])),
    "nearest": ("ViTImageProcessor", dict(do_resize=True, size={"height": 72, "width": 96}, resample=0,
                                          do_rescale=True, rescale_factor=1 / 255, do_normalize=True,
                                          image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5])),
    "lanczos": ("ViTImageProcessor", dict(do_resize=True, size={"height": 96, "width": 80}, resample=1,
                                          do_rescale=True, rescale_factor=1 / 255, do_normalize=True,
                                          image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5])),
    "box": ("ViTImageProcessor", dict(do_resize=True, size={"height": 64, "width": 64}, resample=4,
                                      do_rescale=True, rescale_factor=1 / 255, do_normalize=True,
                                      image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5])),
    "hamming": ("ViTImageProcessor", dict(do_resize=True, size={"height": 64, "width": 88}, resample=5,
                                          do_rescale=True, rescale_factor=1 / 255, do_normalize=True,
                                          image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5])),
    # center_crop larger than the resized image: HF zero-pads (odd differences test the rounding).
    "pad": ("DeiTImageProcessor", dict(do_resize=True, size={"height": 101, "width": 151}, resample=2,
                                       do_center_crop=True, crop_size={"height": 224, "width": 224},
                                       do_rescale=True, rescale_factor=1 / 255, do_normalize=True,
                                       image_mean=IMAGENET_MEAN, image_std=IMAGENET_STD)),
    # rescale without normalize, and normalize without rescale (small outputs keep the goldens small)
    "no_normalize": ("ViTImageProcessor", dict(do_resize=True, size={"height": 40, "width": 48}, resample=3,
                                               do_rescale=True, rescale_factor=1 / 255, do_normalize=False,
                                               image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5])),
    "no_rescale": ("DeiTImageProcessor", dict(do_resize=True, size={"height": 52, "width": 52}, resample=2,
                                              do_center_crop=True, crop_size={"height": 40, "width": 36},
                                              do_rescale=False, rescale_factor=1 / 255, do_normalize=True,
                                              image_mean=IMAGENET_MEAN, image_std=IMAGENET_STD)),
    # no resize: only rescale + normalize of the decoded image (small inputs only)
    "raw": ("ViTImageProcessor", dict(do_resize=False, size={"height": 224, "width": 224}, resample=2,
                                      do_rescale=True, rescale_factor=1 / 255, do_normalize=True,
                                      image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5])),
}
CLASSES = {"ViTImageProcessor": ViTImageProcessor, "DeiTImageProcessor": DeiTImageProcessor,
           "BitImageProcessor": BitImageProcessor, "CLIPImageProcessor": CLIPImageProcessor,
           "SiglipImageProcessor": SiglipImageProcessor}


def format_config(name):
    cls, kw = PROCESSORS[name]
    c = {"processor": cls, "do_convert_rgb": kw.get("do_convert_rgb", True), "do_resize": kw["do_resize"],
         "size": kw["size"], "resample": kw["resample"], "do_center_crop": kw.get("do_center_crop", False),
         "do_rescale": kw["do_rescale"], "rescale_factor": kw["rescale_factor"],
         "do_normalize": kw["do_normalize"], "image_mean": kw["image_mean"], "image_std": kw["image_std"]}
    if c["do_center_crop"]:
        c["crop_size"] = kw["crop_size"]
    return c


def hf_input(path, exif):
    if exif:
        return load_image(str(path))  # exif_transpose + convert("RGB"), what HF pipelines do
    with Image.open(path) as im:
        return im.convert("RGB")


def hf_pixels(name, image):
    cls, kw = PROCESSORS[name]
    proc = CLASSES[cls](**kw)
    # input_data_format is explicit because HF guesses the channel axis from the shape and guesses wrong for
    # images 1 or 3 pixels tall (a 1x1 RGB array (1, 1, 3) is taken as channels-first).
    pv = proc(images=image, return_tensors="np", input_data_format="channels_last")["pixel_values"][0]
    assert pv.dtype == np.float32, pv.dtype
    return pv


def recover_uint8(name, pv):
    """The uint8 HWC image HF normalised: invert the 256-entry lookup per channel, then prove the round trip."""
    cls, kw = PROCESSORS[name]
    proc = CLASSES[cls](**kw)
    lut = np.arange(256, dtype=np.uint8).reshape(16, 16, 1).repeat(3, axis=2)
    if kw["do_rescale"]:
        lut = proc.rescale(lut, scale=kw["rescale_factor"], input_data_format="channels_last")
    if kw["do_normalize"]:
        lut = proc.normalize(lut, mean=kw["image_mean"], std=kw["image_std"], input_data_format="channels_last")
    lut = lut.reshape(256, 3).astype(np.float32)
    u8 = np.zeros(pv.shape[1:] + (3,), np.uint8)
    for c in range(3):
        table = {v.tobytes(): i for i, v in enumerate(lut[:, c])}
        assert len(table) == 256
        flat = pv[c].reshape(-1)
        u8[..., c] = np.array([table[v.tobytes()] for v in flat], np.uint8).reshape(pv.shape[1:])
    assert lut[u8.reshape(-1, 3), np.arange(3)].reshape(u8.shape).transpose(2, 0, 1).tobytes() == pv.tobytes()
    return u8


def sha256(b):
    return hashlib.sha256(b).hexdigest()


def save_golden(path, u8):
    """uint8 HWC stored as the residual of the gradient predictor left + up - upleft (neighbours outside the
    image count as 0), mod 256, as a gzipped .npy: photos compress ~40% better than raw. Decoding:
    v[y,x,c] = (r[y,x,c] + v[y,x-1,c] + v[y-1,x,c] - v[y-1,x-1,c]) & 255."""
    a = np.pad(u8.astype(np.int32), ((1, 0), (1, 0), (0, 0)))
    pred = a[1:, :-1] + a[:-1, 1:] - a[:-1, :-1]
    res = ((a[1:, 1:] - pred) % 256).astype(np.uint8)
    buf = io.BytesIO()
    np.save(buf, res)
    path.write_bytes(gzip.compress(buf.getvalue(), compresslevel=9, mtime=0))


# ---- a minimal PNG writer for what PIL cannot save (16-bit RGB/RGBA/LA, 2/4-bit gray) ----
def write_png(path, arr, depth, color_type, interlace=False):
    if interlace:  # Adam7: seven reduced images, each with its own filter bytes, in one zlib stream
        passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
        data = b"".join(png_rows(arr[y0::dy, x0::dx], depth) for x0, y0, dx, dy in passes
                        if arr[y0::dy, x0::dx].size)
    else:
        data = png_rows(arr, depth)
    h, w = arr.shape[:2]

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, 1 if interlace else 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(data, 9)) +
                     chunk(b"IEND", b""))


def png_rows(arr, depth):
    """Scanlines with filter type 0."""
    h, w = arr.shape[:2]
    if depth == 16:
        raw = arr.astype(">u2").tobytes()
        row_bytes = len(raw) // h
        rows = [raw[i * row_bytes:(i + 1) * row_bytes] for i in range(h)]
    elif depth < 8:
        per = 8 // depth
        rows = []
        for y in range(h):
            bits = 0
            out = bytearray()
            for x in range(w):
                bits = (bits << depth) | int(arr[y, x])
                if (x + 1) % per == 0:
                    out.append(bits)
                    bits = 0
            if w % per:
                out.append(bits << (depth * (per - w % per)))
            rows.append(bytes(out))
    else:
        rows = [arr[y].tobytes() for y in range(h)]
    return b"".join(b"\0" + r for r in rows)


def make_inputs():
    INPUTS.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(5)
    with Image.open(PHOTOS / "bird_eagle.jpg") as im:
        bird = im.convert("RGB")
    # An asymmetric little scene: any wrong flip or rotation changes the result.
    src = bird.crop((300, 120, 460, 240)).resize((64, 48), Image.BICUBIC)
    made = {}

    def save(name, im, **kw):
        im.save(INPUTS / name, **kw)
        made[name] = True

    for o in range(1, 9):
        exif = Image.Exif()
        exif[0x0112] = o
        save(f"exif_{o}.jpg", src, quality=92, exif=exif.tobytes())
    exif = Image.Exif()
    exif[0x0112] = 6
    png = src.copy()
    png.save(INPUTS / "exif_6.png", exif=exif.tobytes())
    made["exif_6.png"] = True

    # Orientation only in XMP (PIL's getexif falls back to it when EXIF has no Orientation tag), and EXIF 1
    # overriding an XMP 6.
    def xmp(o, attr=True):
        v = f'tiff:Orientation="{o}"' if attr else f"<tiff:Orientation>{o}</tiff:Orientation>"
        return ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
                f'<rdf:Description xmlns:tiff="http://ns.adobe.com/tiff/1.0/" {v if attr else ""}>'
                f'{"" if attr else v}</rdf:Description></rdf:RDF></x:xmpmeta>').encode()
    # Big-endian ("MM") EXIF, as many cameras write it; PIL's Exif.tobytes() writes little-endian.
    tiff_mm = b"MM\0*" + struct.pack(">IH", 8, 1) + struct.pack(">HHIHH", 0x0112, 3, 1, 8, 0) + struct.pack(">I", 0)
    save("exif_8_mm.jpg", src, quality=92, exif=b"Exif\0\0" + tiff_mm)
    save("xmp_6.jpg", src, quality=92, xmp=xmp(6))
    save("xmp_8_element.jpg", src, quality=92, xmp=xmp(8, attr=False))
    exif = Image.Exif()
    exif[0x0112] = 1
    save("exif_1_xmp_6.jpg", src, quality=92, exif=exif.tobytes(), xmp=xmp(6))
    from PIL.PngImagePlugin import PngInfo
    info = PngInfo()
    info.add_itxt("XML:com.adobe.xmp", xmp(3).decode())
    save("xmp_3.png", src, pnginfo=info)

    mid = bird.crop((200, 100, 297, 161))  # 97x61: odd sizes exercise the upsampling edges
    save("gray.jpg", mid.convert("L"), quality=90)
    save("progressive.jpg", mid, quality=90, progressive=True)
    save("s444.jpg", mid, quality=90, subsampling=0)
    save("s422.jpg", mid, quality=90, subsampling=1)
    save("s420.jpg", mid, quality=90, subsampling=2)
    save("rgb_coded.jpg", mid, quality=90, keep_rgb=True)  # Adobe transform 0: RGB, no YCbCr conversion
    save("cmyk_small.jpg", mid.convert("CMYK"), quality=90)
    save("restart_rows.jpg", mid, quality=90, restart_marker_rows=1)
    save("restart_blocks.jpg", mid, quality=90, progressive=True, restart_marker_blocks=3)
    # Tall photo content: Pillow 13 resizes it vertical pass first (the height shrinks more than twice as much
    # as the width), which changes the rounding compared with horizontal first.
    with Image.open(PHOTOS / "elephants.jpg") as im:
        save("tall_photo.jpg", im.convert("RGB").crop((800, 200, 920, 900)), quality=90)
    save("tiny_1x1.jpg", bird.crop((400, 200, 401, 201)), quality=90)
    save("tiny_2x2.jpg", bird.crop((400, 200, 402, 202)), quality=90, subsampling=2)
    save("tiny_3x5.jpg", bird.crop((400, 200, 403, 205)), quality=90, subsampling=2)
    save("tiny_1x1.png", bird.crop((400, 200, 401, 201)))
    save("small_100x80.jpg", bird.crop((100, 100, 300, 260)).resize((100, 80), Image.BILINEAR), quality=90)
    # 5000x300 panorama: smooth synthetic content keeps the file small.
    x = np.linspace(0, 1, 5000)[None, :, None]
    y = np.linspace(0, 1, 300)[:, None, None]
    pano = (np.concatenate([128 + 100 * np.sin(12 * x + 3 * y), 128 + 90 * np.cos(7 * x * y + 5 * y),
                            255 * x * (1 - y) + 0 * y], axis=2)).clip(0, 255).astype(np.uint8)
    save("panorama_5000x300.jpg", Image.fromarray(pano), quality=85)
    save("tall_60x900.png", Image.fromarray(np.ascontiguousarray(pano[:, 2000:2900:15].transpose(1, 0, 2)[:, :60])))

    rgba = np.dstack([np.asarray(mid), rng.integers(0, 256, (61, 97), dtype=np.uint8)])
    save("rgba.png", Image.fromarray(rgba, "RGBA"))
    save("la.png", Image.fromarray(rgba[..., [0, 3]], "LA"))
    pal = mid.quantize(16)
    save("palette.png", pal)
    pal_t = pal.copy()
    pal_t.info["transparency"] = 3
    save("palette_trns.png", pal_t, transparency=3)
    g16 = (np.arange(61 * 97).reshape(61, 97) * 7 % 1200).astype(np.uint16)  # values above and below 255
    write_png(INPUTS / "gray16.png", g16, 16, 0)
    rgb16 = (np.asarray(mid).astype(np.uint16) * 257 + rng.integers(0, 256, (61, 97, 3))).astype(np.uint16)
    write_png(INPUTS / "rgb16.png", rgb16, 16, 2)
    write_png(INPUTS / "rgba16.png", np.dstack([rgb16, rgb16[..., :1]]), 16, 6)
    write_png(INPUTS / "la16.png", np.dstack([rgb16[..., 1:2], rgb16[..., :1]]), 16, 4)
    write_png(INPUTS / "gray4.png", (np.asarray(mid.convert("L")) >> 4).astype(np.uint8), 4, 0)
    write_png(INPUTS / "gray2.png", (np.asarray(mid.convert("L")) >> 6).astype(np.uint8), 2, 0)
    write_png(INPUTS / "interlaced.png", np.asarray(mid), 8, 2, interlace=True)
    write_png(INPUTS / "interlaced_gray16.png", g16, 16, 0, interlace=True)
    for n in ("interlaced.png", "interlaced_gray16.png", "gray16.png", "rgb16.png", "rgba16.png", "la16.png", "gray4.png", "gray2.png"):
        made[n] = True
    save("bw1.png", mid.convert("1"))

    save("gif_trns.gif", pal, transparency=3)
    frames = [pal, mid.transpose(Image.FLIP_LEFT_RIGHT).quantize(16)]
    frames[0].save(INPUTS / "gif_anim.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)
    made["gif_anim.gif"] = True
    # First frames smaller than the canvas (PIL fills the rest with the transparent index, else index 0).
    for name, kw in (("gif_offset.gif", {"background": 5}), ("gif_offset_trns.gif", {"transparency": 3})):
        b = io.BytesIO()
        pal.crop((0, 0, 40, 30)).save(b, "GIF", **kw)
        g = bytearray(b.getvalue())
        g[6:10] = struct.pack("<HH", 64, 48)  # logical screen
        i = g.index(b"\x2c\x00\x00\x00\x00" + struct.pack("<HH", 40, 30))
        g[i + 1:i + 5] = struct.pack("<HH", 11, 7)  # frame position
        (INPUTS / name).write_bytes(bytes(g))
        made[name] = True
    # 16-bit BMPs (PIL cannot write them): 5-6-5 bitfields and 5-5-5 BI_RGB, bottom-up rows padded to 4 bytes.
    a = np.asarray(mid).astype(np.uint32)
    for name, bits565 in (("rgb565.bmp", True), ("rgb555.bmp", False)):
        if bits565:
            px = ((a[..., 0] >> 3) << 11) | ((a[..., 1] >> 2) << 5) | (a[..., 2] >> 3)
        else:
            px = ((a[..., 0] >> 3) << 10) | ((a[..., 1] >> 3) << 5) | (a[..., 2] >> 3)
        h, w = px.shape
        stride = (w * 2 + 3) // 4 * 4
        rows = b"".join(px[y].astype("<u2").tobytes().ljust(stride, b"\0") for y in range(h - 1, -1, -1))
        masks = struct.pack("<III", 0xF800, 0x7E0, 0x1F) if bits565 else b""
        off = 14 + 40 + len(masks)
        dib = struct.pack("<IiiHHIIiiII", 40, w, h, 1, 16, 3 if bits565 else 0, len(rows), 2835, 2835, 0, 0)
        (INPUTS / name).write_bytes(b"BM" + struct.pack("<IHHI", off + len(rows), 0, 0, off) + dib + masks + rows)
        made[name] = True
    save("rgb.bmp", mid)
    save("palette.bmp", pal)
    save("rgba.bmp", Image.fromarray(rgba, "RGBA"))
    save("small.webp", mid, quality=80)

    # Bad inputs.
    (INPUTS / "empty.bin").write_bytes(b"")
    (INPUTS / "random.bin").write_bytes(rng.integers(0, 256, 2048, dtype=np.uint8).tobytes())
    (INPUTS / "text.txt").write_bytes(b"This is not an image.\nJust some text in a file.\n")
    jpg = (INPUTS / "tiny_1x1.jpg").read_bytes()
    sof = jpg.index(b"\xff\xc0")
    huge = bytearray(jpg)
    huge[sof + 5:sof + 9] = struct.pack(">HH", 20000, 20000)
    (INPUTS / "huge_header.jpg").write_bytes(bytes(huge))
    ihdr = struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0)
    (INPUTS / "huge_header.png").write_bytes(
        b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr +
        struct.pack(">I", zlib.crc32(b"IHDR" + ihdr) & 0xFFFFFFFF) + b"\0\0\0\0IEND\xaeB`\x82")
    (INPUTS / "truncated.png").write_bytes((INPUTS / "palette.png").read_bytes()[:120])
    # A CPU bomb: the last scan of a small progressive JPEG repeated 600 times.
    buf = io.BytesIO()
    Image.open(INPUTS / "tiny_3x5.jpg").save(buf, "JPEG", quality=90, progressive=True)
    prog = buf.getvalue()
    last_sos = prog.rindex(b"\xff\xda")
    scan = prog[last_sos:prog.rindex(b"\xff\xd9")]
    (INPUTS / "many_scans.jpg").write_bytes(prog[:last_sos] + scan * 600 + b"\xff\xd9")
    # The frame header of a small JPEG relabelled as arithmetic-coded (SOF9) and as 12-bit.
    arith = bytearray(jpg)
    arith[sof + 1] = 0xC9
    (INPUTS / "arithmetic_sof9.jpg").write_bytes(bytes(arith))
    # A Huffman table claiming 510 symbols (stb 2.27 would write past its arrays).
    dht = bytearray(jpg)
    i = dht.index(b"\xff\xc4")
    dht[i + 5] = dht[i + 6] = 255  # the first two of the 16 code-length counts
    (INPUTS / "bad_dht.jpg").write_bytes(bytes(dht))
    twelve = bytearray(jpg)
    twelve[sof + 4] = 12
    (INPUTS / "twelve_bit.jpg").write_bytes(bytes(twelve))
    return sorted(made)


def main():
    GOLDENS.mkdir(parents=True, exist_ok=True)
    for f in GOLDENS.glob("*"):
        f.unlink()
    generated = make_inputs()
    photos = sorted(p.name for p in PHOTOS.iterdir() if p.suffix in (".jpg", ".png") and "truncated" not in p.name)

    def rel(name):
        return f"{PHOTOS_REL}/{name}" if (PHOTOS / name).exists() and name in photos else \
            f"wasm-tests/fixtures/pixels/inputs/{name}"

    def path_of(name):
        return PHOTOS / name if name in photos else INPUTS / name

    plan = []  # (image name, processor, exif)
    for p in photos:
        plan += [(p, "dinov2", True), (p, "vit", True)]
    for p in ("dog_beagle.jpg", "bird_eagle.jpg", "person_cameraman_gray.png", "elephants_cmyk.jpg",
              "cat_chelsea.png"):
        plan.append((p, "deit", True))
    for proc in ("vit", "dinov2", "deit"):
        plan.append(("elephants_exif_orientation6.jpg", proc, False))
    for proc in ("nearest", "lanczos", "box", "hamming"):
        plan += [("bird_eagle.jpg", proc, True), ("small_100x80.jpg", proc, True), ("tiny_3x5.jpg", proc, True)]
    plan += [("horse_jockey.jpg", "pad", True), ("tall_60x900.png", "pad", True)]
    plan += [("tall_photo.jpg", "vit", True), ("tall_photo.jpg", "lanczos", True)]
    for proc in ("no_normalize", "no_rescale"):
        plan += [("dog_beagle.jpg", proc, True), ("person_cameraman_gray.png", proc, True)]
    for o in range(1, 9):
        plan.append((f"exif_{o}.jpg", "raw", True))
    plan += [("exif_1.jpg", "dinov2", True), ("exif_6.jpg", "dinov2", True), ("exif_7.jpg", "dinov2", True)]
    plan += [("exif_6.jpg", "dinov2", False), ("exif_6.jpg", "raw", False), ("exif_6.png", "raw", True)]
    for g in ("xmp_6.jpg", "xmp_8_element.jpg", "exif_1_xmp_6.jpg", "xmp_3.png", "exif_8_mm.jpg"):
        plan.append((g, "raw", True))
    for g in generated:
        if g.startswith("exif_") or g.startswith("xmp_") or g.endswith(".webp") or g == "tall_photo.jpg":
            continue
        plan.append((g, "dinov2", True))
        if g not in ("panorama_5000x300.jpg",):
            plan.append((g, "raw", True) if g not in ("tall_60x900.png",) else (g, "vit", True))
    plan += [("panorama_5000x300.jpg", "vit", True), ("panorama_5000x300.jpg", "deit", True)]
    # CLIP and SigLIP at their checkpoints' configs (a photo, the panorama) and at small sizes on odd inputs
    # (tall, tiny, RGBA, CMYK, EXIF-rotated, grayscale)
    for p in ("dog_beagle.jpg", "panorama_5000x300.jpg"):
        plan += [(p, "clip", True), (p, "siglip", True)]
    for g in ("tall_60x900.png", "tiny_3x5.jpg", "small_100x80.jpg", "rgba.png", "cmyk_small.jpg", "exif_6.jpg",
              "gray.jpg"):
        plan += [(g, "clip_small", True), (g, "siglip_small", True)]

    cases = []
    for image, proc, exif in plan:
        name = f"{Path(image).stem}.{Path(image).suffix[1:]}.{proc}" + ("" if exif else ".noexif")
        pv = hf_pixels(proc, hf_input(path_of(image), exif))
        u8 = recover_uint8(proc, pv)
        save_golden(GOLDENS / f"{name}.grad.npy.gz", u8)
        cases.append({"name": name, "image": rel(image), "processor": proc, "exif": exif,
                      "config": format_config(proc), "shape": list(pv.shape),
                      "sha256": sha256(pv.tobytes()), "golden": f"goldens/{name}.grad.npy.gz"})
        print(f"{name:50s} {pv.shape}", file=sys.stderr)

    decoded = []
    for image in photos + [g for g in generated if not g.endswith(".webp")]:
        for exif in (True, False):
            rgb = np.asarray(hf_input(path_of(image), exif))
            decoded.append({"image": rel(image), "exif": exif, "shape": list(rgb.shape),
                            "sha256": sha256(np.ascontiguousarray(rgb).tobytes())})

    errors = []
    bad = [("empty.bin", "empty input"), ("random.bin", "unrecognised image format"), ("text.txt", "looks like text"),
           ("huge_header.jpg", "image too large"), ("huge_header.png", "image too large"),
           ("truncated.png", "corrupt PNG"), ("small.webp", "WebP"), ("many_scans.jpg", "more than 500 scans"),
           ("arithmetic_sof9.jpg", "unsupported JPEG: arithmetic-coded sequential"),
           ("twelve_bit.jpg", "unsupported JPEG: 12-bit samples"),
           ("bad_dht.jpg", "bad Huffman table (DHT)")]
    for image, expect in bad:
        try:
            with Image.open(INPUTS / image) as im:
                im.load()
            pil = "no error"
        except Exception as e:  # noqa: BLE001 -- recording what PIL says, whatever it is
            pil = f"{type(e).__name__}: {e}"
        errors.append({"image": rel(image), "error": expect, "pil": pil})
    try:
        Image.open(PHOTOS / "elephants_truncated.jpg").load()
        pil = "no error"
    except Exception as e:  # noqa: BLE001
        pil = f"{type(e).__name__}: {e}"
    errors.append({"image": f"{PHOTOS_REL}/elephants_truncated.jpg", "error": "truncated JPEG", "pil": pil})
    errors.append({"image": f"{PHOTOS_REL}/elephants.jpg", "error": "image too large", "max_pixels": 1_000_000,
                   "pil": "(budget of this engine; PIL's own limit is 178,956,970 pixels)"})

    import PIL
    import transformers
    meta = {"generator": "tools/reference/make_pixel_fixtures.py", "transformers": transformers.__version__,
            "pillow": PIL.__version__, "numpy": np.__version__,
            "libjpeg_turbo": __import__("PIL.features").features.version("libjpeg_turbo")}
    (OUT / "cases.json").write_text(json.dumps({"meta": meta, "cases": cases, "decoded": decoded,
                                                 "errors": errors}, indent=1) + "\n")
    total = sum(f.stat().st_size for f in OUT.rglob("*") if f.is_file())
    print(f"{len(cases)} cases, {len(decoded)} decodes, {len(errors)} errors; {total / 1e6:.2f} MB", file=sys.stderr)


if __name__ == "__main__":
    main()
