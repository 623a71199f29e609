// Typed access to the fields of one JSON object of manifest.json, for manifest.cpp and the family modules
// (families/*.cpp read their own keys of "architecture"). Every value's type is checked before it is read, so
// nlohmann never needs to throw (the build defines JSON_NOEXCEPTION); errors read "<prefix><where>: <problem>"
// (by default "manifest: ", code Manifest; a head attached to a loaded model reads "head: ", code Head), and only
// the first one is kept.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "status.h"

namespace vitrine {

class Fields {
 public:
  using json = nlohmann::json;
  Fields(const json& obj, std::string where, Code code = Code::Manifest, std::string prefix = "manifest: ")
      : obj_(obj), where_(std::move(where)), code_(code), prefix_(std::move(prefix)) {}

  const json* get(const char* key, bool required = true) {
    read_.insert(key);
    auto it = obj_.find(key);
    if (it == obj_.end()) {
      if (required) fail(std::string("missing key \"") + key + "\"");
      return nullptr;
    }
    return &*it;
  }
  bool integer(const char* key, int64_t* out, int64_t lo, int64_t hi, bool required = true) {
    const json* v = get(key, required);
    if (!v) return false;
    if (!v->is_number_integer()) return fail(std::string("\"") + key + "\" must be an integer");
    int64_t x = v->is_number_unsigned() ? static_cast<int64_t>(std::min<uint64_t>(v->get<uint64_t>(), INT64_MAX))
                                        : v->get<int64_t>();
    if (x < lo || x > hi)
      return fail(std::string("\"") + key + "\" = " + std::to_string(x) + " is out of range [" + std::to_string(lo) +
                  ", " + std::to_string(hi) + "]");
    *out = x;
    return true;
  }
  bool integer(const char* key, int* out, int64_t lo, int64_t hi, bool required = true) {
    int64_t x = 0;
    if (!integer(key, &x, lo, hi, required)) return false;
    *out = static_cast<int>(x);
    return true;
  }
  bool number(const char* key, double* out, bool required = true) {
    const json* v = get(key, required);
    if (!v) return false;
    if (!v->is_number()) return fail(std::string("\"") + key + "\" must be a number");
    *out = v->get<double>();
    if (!std::isfinite(*out)) return fail(std::string("\"") + key + "\" must be finite");
    return true;
  }
  bool boolean(const char* key, bool* out, bool required = true) {
    const json* v = get(key, required);
    if (!v) return false;
    if (!v->is_boolean()) return fail(std::string("\"") + key + "\" must be true or false");
    *out = v->get<bool>();
    return true;
  }
  bool string(const char* key, std::string* out, bool required = true) {
    const json* v = get(key, required);
    if (!v) return false;
    if (!v->is_string()) return fail(std::string("\"") + key + "\" must be a string");
    *out = v->get<std::string>();
    return true;
  }
  // Keys outside `known` are an error where a typo would silently change the model.
  void only(std::initializer_list<const char*> known) {
    for (auto it = obj_.begin(); it != obj_.end(); ++it) {
      bool ok = false;
      for (const char* k : known) ok = ok || it.key() == k;
      if (!ok) fail("unknown key \"" + it.key() + "\"");
    }
  }
  // The same for an object read by several parties (architecture: manifest.cpp, then the family): every key
  // that nobody asked for is unknown.
  void only_read() {
    for (auto it = obj_.begin(); it != obj_.end(); ++it)
      if (!read_.count(it.key())) fail("unknown key \"" + it.key() + "\"");
  }
  bool fail(const std::string& message) {
    if (status_.ok()) status_ = Status::Err(code_, prefix_ + where_ + ": " + message);
    return false;
  }
  Status status() const { return status_; }

 private:
  const json& obj_;
  std::string where_;
  Code code_;
  std::string prefix_;
  Status status_;
  std::set<std::string> read_;
};

}  // namespace vitrine
