#!/usr/bin/env bash
# Install the Debian packages assay needs to build and test, and only those that are
# missing (safe to run again). Uses sudo when not root.
set -euo pipefail

arch=$(dpkg --print-architecture)
pkgs=(
  meson ninja-build pkg-config gcc g++ clang libclang-rt-14-dev
  liburing-dev librdkafka-dev libjemalloc-dev libxxhash-dev libyaml-dev
  libcmocka-dev libbenchmark-dev flatbuffers-compiler libflatbuffers-dev
  python3 clang-format libcurl4-openssl-dev curl prometheus-alertmanager
  kcat python3-kafka libwebsockets-dev libsqlite3-dev prometheus wrk
  python3-websockets chromium zlib1g-dev libzstd-dev zstd
  # tests/pandas_compare.py: pandas, and the packages whose data sets it profiles
  python3-pandas python3-sklearn python3-statsmodels python3-vega-datasets ieee-data
  r-cran-palmerpenguins r-cran-readr r-cran-ggplot2
)
# Hyperscan is x86-64 only; Vectorscan provides the same libhs API elsewhere.
if [ "$arch" = amd64 ]; then pkgs+=(libhyperscan-dev); else pkgs+=(libvectorscan-dev); fi
# the live page test drives chromium with npm playwright-core (any Node.js with npm will do)
command -v npm >/dev/null 2>&1 || pkgs+=(nodejs npm)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#pkgs[@]} packages present"
else
  SUDO=
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "install-deps: done"
fi
# npm packages live in the repo (tests/web/node_modules, ignored by git); the browser is
# Debian's chromium, never a downloaded one
web="$(cd "$(dirname "$0")/.." && pwd)/tests/web"
if [ ! -d "$web/node_modules/playwright-core" ]; then
  echo "install-deps: npm install --prefix tests/web (playwright-core)"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --silent --no-audit --no-fund --prefix "$web" >/dev/null
fi
