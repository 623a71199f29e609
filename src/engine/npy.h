// Minimal .npy (v1/v2, little-endian float32, C order) reading and writing for the native test drivers
// (*_main.cpp). Not used by the engine itself.
#pragma once
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "status.h"

namespace vitrine::npy {

inline Status read_f32(const std::string& path, std::vector<float>* data, std::vector<int64_t>* shape) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return Status::Err(Code::Input, path + ": cannot open");
  std::vector<uint8_t> bytes;
  uint8_t buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) bytes.insert(bytes.end(), buf, buf + n);
  std::fclose(f);
  if (bytes.size() < 10 || std::string(bytes.begin() + 1, bytes.begin() + 6) != "NUMPY" || bytes[0] != 0x93)
    return Status::Err(Code::Input, path + ": not a .npy file");
  const int major = bytes[6];
  size_t header_len, start;
  if (major == 1) {
    header_len = bytes[8] | bytes[9] << 8;
    start = 10;
  } else {
    if (bytes.size() < 12) return Status::Err(Code::Input, path + ": truncated .npy header");
    header_len = bytes[8] | bytes[9] << 8 | bytes[10] << 16 | size_t(bytes[11]) << 24;
    start = 12;
  }
  if (start + header_len > bytes.size()) return Status::Err(Code::Input, path + ": truncated .npy header");
  const std::string header(bytes.begin() + start, bytes.begin() + start + header_len);
  if (header.find("'descr': '<f4'") == std::string::npos) return Status::Err(Code::Input, path + ": only float32 (<f4) .npy is supported");
  if (header.find("'fortran_order': False") == std::string::npos) return Status::Err(Code::Input, path + ": Fortran-order .npy is not supported");
  const size_t lp = header.find('(', header.find("'shape'")), rp = header.find(')', lp);
  if (lp == std::string::npos || rp == std::string::npos) return Status::Err(Code::Input, path + ": no shape in .npy header");
  shape->clear();
  size_t count = 1;
  std::string dims = header.substr(lp + 1, rp - lp - 1);
  for (size_t pos = 0; pos < dims.size();) {
    size_t comma = dims.find(',', pos);
    std::string d = dims.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    if (d.find_first_of("0123456789") != std::string::npos) {
      shape->push_back(std::stoll(d));
      count *= size_t(shape->back());
    }
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  const size_t data_start = start + header_len;
  if (bytes.size() - data_start != count * 4) return Status::Err(Code::Input, path + ": data size does not match the shape");
  data->resize(count);
  std::memcpy(data->data(), bytes.data() + data_start, count * 4);
  return Status::Ok();
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
