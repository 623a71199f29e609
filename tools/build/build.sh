#!/usr/bin/env bash
# `npm run build`: the native engine (tests, reference) and both WASM variants (mt, st), each linked for Node
# (CommonJS) and for browsers (ES module). Outputs land in dist/wasm/{node,web}/ where src/js/ finds them.
set -euo pipefail
cd "$(dirname "$0")/../.."
# Debian's Emscripten 3.1.6 runs acorn from the system node modules.
export NODE_PATH=/usr/share/nodejs
jobs=$(nproc)
what="${1:-all}"

if [[ "$what" == all || "$what" == native ]]; then
  cmake -S . -B build/native -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build/native -j "$jobs"
fi
if [[ "$what" == all || "$what" == wasm ]]; then
  for variant in mt st; do
    threads=OFF; [[ $variant == mt ]] && threads=ON
    emcmake cmake -S . -B "build/wasm-$variant" -G Ninja -DCMAKE_BUILD_TYPE=Release -DVITRINE_THREADS=$threads >/dev/null
    cmake --build "build/wasm-$variant" -j "$jobs"
    # The *_main.cpp programs linked for Node are CommonJS too.
    echo '{ "type": "commonjs" }' > "build/wasm-$variant/package.json"
  done
  mkdir -p dist/wasm/node dist/wasm/web
  for variant in mt st; do
    cp build/wasm-$variant/node/vitrine-$variant.* dist/wasm/node/
    cp build/wasm-$variant/web/vitrine-$variant.* dist/wasm/web/
  done
  # The Node builds are CommonJS; this marks them so inside an ESM package.
  echo '{ "type": "commonjs" }' > dist/wasm/node/package.json
fi
