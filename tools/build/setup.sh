#!/usr/bin/env bash
# Idempotent set-up behind `npm start` and `npm test`: on a fresh Debian machine with Node 20 it installs the
# system packages (as root), the npm dev dependencies and builds the engine; on a set-up machine it only lets
# ninja confirm nothing changed. Nothing here downloads models or data.
#   --test   also the Python environment of the training smoke test (tools/default-model/requirements-smoke.txt)
set -euo pipefail
cd "$(dirname "$0")/../.."
with_test_env=0
[[ "${1:-}" == --test ]] && with_test_env=1

# clang-14 + libclang-rt-14-dev: the ASan/UBSan/libFuzzer build (build/fuzz) behind wasm-tests/native/fuzz.test.js.
packages=(emscripten libeigen3-dev libstb-dev nlohmann-json3-dev cmake ninja-build g++ chromium clang-14 libclang-rt-14-dev)
if ((with_test_env)); then
  # parallel: GNU parallel runs the --shard processes of wasm-tests/cli/bulk.test.js (docs/BULK.md); that test also
  # starts its own sshd on 127.0.0.1 (openssh-server; never the system service) for parallel's --sshlogin, whose
  # --return needs rsync.
  packages+=(python3-venv python3-torch python3-numpy python3-pil python3-matplotlib libopenblas0-pthread parallel
    openssh-server openssh-client rsync)
fi
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

# The training smoke test's Python: Debian's torch in a venv that adds the two PyPI packages it lacks. Rebuilt
# when tools/default-model/requirements-smoke.txt changes. /usr/bin/python3 explicitly: another python3 may come first on PATH.
if ((with_test_env)); then
  venv=tools/.venv-smoke
  if ! cmp -s tools/default-model/requirements-smoke.txt "$venv/requirements-smoke.txt"; then
    echo "setup: creating $venv" >&2
    rm -rf "$venv"
    /usr/bin/python3 -m venv --system-site-packages "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check -r tools/default-model/requirements-smoke.txt >&2
    cp tools/default-model/requirements-smoke.txt "$venv/requirements-smoke.txt"
  fi
fi

bash tools/build/build.sh >&2
