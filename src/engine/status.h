// Errors are values: every fallible engine call returns a Status, and an empty message means success.
// (No exceptions and no assert: the WASM build has exception catching off, and validation must survive
// release builds.)
#pragma once
#include <string>
#include <utility>

namespace vitrine {

struct Status {
  std::string error;  // empty = ok
  bool ok() const { return error.empty(); }
  static Status Ok() { return {}; }
  static Status Err(std::string message) { return Status{std::move(message)}; }
};

}  // namespace vitrine
