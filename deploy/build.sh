#!/bin/sh
# Configures and builds Hopwire (Release, every core) into ./build, after
# installing the Debian packages it needs. Usage: deploy/build.sh [BUILD_DIR]
# HOPWIRE_SETUP=build installs only what building needs (no test tools).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-"$top/build"}
"$top/deploy/setup-debian.sh" "${HOPWIRE_SETUP:-test}"
cmake -S "$top" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --parallel "$(nproc)"
