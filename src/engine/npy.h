// Minimal .npy (v1/v2, little-endian float32, C order) reading and writing for the native test drivers
// (*_main.cpp). Not used by the engine itself, but `vitrine-native forward` reads pixel files given on its command
// line, so the reader treats its bytes as untrusted (fuzzed by wasm-tests/fuzz/npy_fuzz.cpp).
#pragma once
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "status.h"

namespace vitrine::npy {

// `what` names the source in errors. Every size comes from the bytes, so each is checked before it is used.
inline Status parse_f32(const uint8_t* bytes, size_t size, const std::string& what, std::vector<float>* data,
                        std::vector<int64_t>* shape) {
  if (size < 10 || bytes[0] != 0x93 || std::memcmp(bytes + 1, "NUMPY", 5) != 0)
    return Status::Err(Code::Input, what + ": not a .npy file");
  const int major = bytes[6];
  size_t header_len, start;
  if (major == 1) {
    header_len = bytes[8] | bytes[9] << 8;
    start = 10;
  } else {
    if (size < 12) return Status::Err(Code::Input, what + ": truncated .npy header");
    header_len = bytes[8] | bytes[9] << 8 | bytes[10] << 16 | size_t(bytes[11]) << 24;
    start = 12;
  }
  if (header_len > size - start) return Status::Err(Code::Input, what + ": truncated .npy header");
  const std::string header(bytes + start, bytes + start + header_len);
  if (header.find("'descr': '<f4'") == std::string::npos) return Status::Err(Code::Input, what + ": only float32 (<f4) .npy is supported");
  if (header.find("'fortran_order': False") == std::string::npos) return Status::Err(Code::Input, what + ": Fortran-order .npy is not supported");
  const size_t shape_key = header.find("'shape'");
  const size_t lp = shape_key == std::string::npos ? shape_key : header.find('(', shape_key);
  const size_t rp = lp == std::string::npos ? lp : header.find(')', lp);
  if (rp == std::string::npos) return Status::Err(Code::Input, what + ": no shape in .npy header");
  shape->clear();
  const size_t data_start = start + header_len;
  const size_t max_count = (size - data_start) / 4;
  size_t count = 1;
  const std::string dims = header.substr(lp + 1, rp - lp - 1);
  for (size_t pos = 0; pos < dims.size();) {
    size_t comma = dims.find(',', pos);
    const std::string d = dims.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    const size_t first = d.find_first_not_of(' ');
    if (first != std::string::npos) {
      // A dimension is decimal digits only; the count may never exceed what the data could hold.
      uint64_t v = 0;
      size_t i = first;
      for (; i < d.size() && d[i] >= '0' && d[i] <= '9'; ++i) {
        v = v * 10 + uint64_t(d[i] - '0');
        if (v > max_count) return Status::Err(Code::Input, what + ": data size does not match the shape");
      }
      if (i == first || d.find_first_not_of(' ', i) != std::string::npos)
        return Status::Err(Code::Input, what + ": bad shape entry \"" + d + "\" in .npy header");
      if (v != 0 && count > max_count / v) return Status::Err(Code::Input, what + ": data size does not match the shape");
      count *= size_t(v);
      shape->push_back(int64_t(v));
    }
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  if (size - data_start != count * 4) return Status::Err(Code::Input, what + ": data size does not match the shape");
  data->resize(count);
  if (count) std::memcpy(data->data(), bytes + data_start, count * 4);
  return Status::Ok();
}

inline Status read_f32(const std::string& path, std::vector<float>* data, std::vector<int64_t>* shape) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return Status::Err(Code::Input, path + ": cannot open");
  std::vector<uint8_t> bytes;
  uint8_t buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) bytes.insert(bytes.end(), buf, buf + n);
  std::fclose(f);
  return parse_f32(bytes.data(), bytes.size(), path, data, shape);
}

inline Status write_f32(const std::string& path, const float* data, const std::vector<int64_t>& shape) {
  std::string dims;
  size_t count = 1;
  for (int64_t d : shape) {
    dims += std::to_string(d) + ",";
    count *= size_t(d);
  }
  if (shape.size() > 1) dims.pop_back();
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  while ((10 + header.size() + 1) % 64) header += ' ';
  header += '\n';
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return Status::Err(Code::Input, path + ": cannot write");
  const uint8_t magic[8] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
  const uint8_t len[2] = {uint8_t(header.size() & 255), uint8_t(header.size() >> 8)};
  std::fwrite(magic, 1, 8, f);
  std::fwrite(len, 1, 2, f);
  std::fwrite(header.data(), 1, header.size(), f);
  std::fwrite(data, 4, count, f);
  const bool ok = std::fclose(f) == 0;
  return ok ? Status::Ok() : Status::Err(Code::Input, path + ": write failed");
}

}  // namespace vitrine::npy
