// Errors are values: every fallible engine call returns a Status, a Code plus a message that names the field,
// chunk or tensor it is about. (No exceptions and no assert: the WASM build has exception catching off, and
// validation must survive release builds.) JavaScript receives the code as the string of code_name() and
// turns it into VitrineError.code one to one (src/js/errors.js engineError).
#pragma once
#include <string>
#include <utility>

namespace vitrine {

enum class Code {
  Ok,
  Manifest,      // manifest.json refused (JSON, version, a field, a tensor's name/shape/offset, a chunk entry)
  ChunkSize,     // a chunk has the wrong number of bytes
  ChunkHash,     // a chunk's SHA-256 differs from the manifest's
  Load,          // any other loading failure (no load in progress, a chunk never committed)
  Image,         // an image could not be decoded or preprocessed
  Input,         // bad arguments to a call (pixels, sizes, pooling)
  NoClassifier,  // scores asked of a model without classifier
  Memory,        // an allocation failed: the model or the image does not fit
  Head,          // a head to attach was refused (layers, widths, weights): the model keeps its classifier
};

// The one table Code → the string JavaScript sees.
inline const char* code_name(Code code) {
  switch (code) {
    case Code::Ok: return "";
    case Code::Manifest: return "E_MANIFEST";
    case Code::ChunkSize: return "E_CHUNK_SIZE";
    case Code::ChunkHash: return "E_CHUNK_HASH";
    case Code::Load: return "E_LOAD";
    case Code::Image: return "E_IMAGE";
    case Code::Input: return "E_INPUT";
    case Code::NoClassifier: return "E_NO_CLASSIFIER";
    case Code::Memory: return "E_MEMORY";
    case Code::Head: return "E_HEAD";
  }
  return "E_LOAD";
}

struct Status {
  Code code = Code::Ok;
  std::string error;  // empty = ok
  bool ok() const { return code == Code::Ok; }
  static Status Ok() { return {}; }
  static Status Err(Code code, std::string message) { return Status{code, std::move(message)}; }
};

}  // namespace vitrine
