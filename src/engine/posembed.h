// Resizing the learned position table to another patch grid, exactly as torch.nn.functional.interpolate does
// for HF DINOv2 (bicubic, align_corners=False, with or without antialias).
#pragma once

namespace vitrine {

// src: [in_h*in_w, dim] row-major grid of vectors; dst: [out_h*out_w, dim].
void resize_positions_bicubic(const float* src, int in_h, int in_w, int dim, float* dst, int out_h, int out_w,
                              bool antialias);

}  // namespace vitrine
