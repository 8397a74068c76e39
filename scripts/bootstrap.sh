#!/usr/bin/env bash
# bootstrap.sh — install everything Pika needs to build, test and run.
#
# Idempotent: checks first and installs only what is missing, so a second run
# takes about a second. Works as root, or through sudo otherwise. Sources are
# Debian's packages and the npm registry only (docs/DEPENDENCIES.md says why
# each dependency is there).
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: the toolchain and every C library Pika links.
APT_PACKAGES=(
  build-essential   # gcc 12, make, libc headers; gcc's ASan/UBSan/TSan runtimes
  cmake             # >= 3.25 (Debian 12 ships 3.25.1)
  ninja-build
  pkg-config
  clang-format      # the code's style is checked in `make test`
  clang libclang-rt-14-dev  # libFuzzer for the archive reader's fuzz test
  ca-certificates   # npm fetches over TLS
  # the adaptive pipeline (pika pipe): codecs, hashes, ciphers, named pipelines
  libzstd-dev liblz4-dev libbrotli-dev libdeflate-dev libxxhash-dev
  libssl-dev libsodium-dev libsqlite3-dev
  libjansson-dev libtomlplusplus-dev   # pipeline config files (JSON, TOML)
  libcivetweb-dev   # HTTP + WebSocket server: pika open, --metrics-addr
  curl wrk          # tests/server: the protocol test's client, the load test
  strace            # tests/cli/pipe.sh: which outputs are fsynced
  # headless plotting: cairo draws, pango lays out text, DejaVu to draw it with
  libcairo2-dev libpango1.0-dev fonts-dejavu-core
  libfast-float-dev # correctly rounded number parsing for pika plot's CSV reader
  # the tools the pipeline's benchmarks compare with
  zstd lz4 age time     # time: GNU /usr/bin/time, peak memory in bench/pipe.sh
  gnuplot-nox python3-matplotlib   # bench/engine.sh: pika plot vs gnuplot, matplotlib
  chromium          # the browser UI's end-to-end tests and bench/web.sh (headless, via playwright-core)
)
# Commands that may come from elsewhere (e.g. a newer npm) count as present.
declare -A COMMAND_PACKAGES=([node]=nodejs [npm]=npm)

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "bootstrap: need root or sudo to install packages" >&2; exit 77; }
  SUDO=(sudo)
fi

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
for cmd in "${!COMMAND_PACKAGES[@]}"; do
  command -v "$cmd" >/dev/null || missing+=("${COMMAND_PACKAGES[$cmd]}")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}"
  "${SUDO[@]}" apt-get update -qq
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Vite 8 and Vitest 4 need Node.js 20.19 or newer; Debian 12's own nodejs
# package is 18, so a machine that got node from it cannot build the UI.
node_v=$(node -p 'process.versions.node' 2>/dev/null || echo 0)
IFS=. read -r nmaj nmin _ <<<"$node_v"
if [ "$nmaj" -lt 20 ] || { [ "$nmaj" -eq 20 ] && [ "$nmin" -lt 19 ]; }; then
  echo "bootstrap: node $node_v is too old for the browser UI's build (Vite 8 needs Node.js >= 20.19); install a newer Node.js and run again" >&2
  exit 69
fi

bash scripts/fetch-duckdb.sh
bash scripts/fetch-datasets.sh
# The browser UI's npm packages (web/package-lock.json), when missing or stale.
bash scripts/build-web.sh --deps-only
