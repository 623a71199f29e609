#!/usr/bin/env bash
# Idempotent set-up behind `npm start` and `npm test`: on a fresh Debian machine with Node 20 it installs the
# system packages (as root), the npm dev dependencies and builds the engine; on a set-up machine it only lets
# ninja confirm nothing changed. Nothing here downloads models or data.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(emscripten libeigen3-dev libstb-dev nlohmann-json3-dev cmake ninja-build g++ chromium)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup: missing Debian packages: ${missing[*]} — install them with: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}" >&2
  apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2
fi

# npm dev dependencies (playwright-core drives Debian's chromium; onnxruntime-web is the benchmark peer).
if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "setup: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
fi

bash tools/build.sh >&2
