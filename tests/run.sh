#!/bin/sh
# The whole test suite, from a fresh Debian 12 machine: installs what is
# needed, builds everything, proves the sensor builds alone without the
# collector's dependencies, and runs every test (unit + integration).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/deploy/build.sh" "$top/build"

echo "== sensor-only build (no RocksDB, yaml-cpp or RapidJSON may be found; neither sensor may link them or libnats)"
cmake -S "$top" -B "$top/build-sensor-only" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DHOPWIRE_SENSOR_ONLY=ON -DHOPWIRE_BUILD_TESTS=OFF \
  -DCMAKE_DISABLE_FIND_PACKAGE_RocksDB=ON -DCMAKE_DISABLE_FIND_PACKAGE_yaml-cpp=ON \
  -DCMAKE_DISABLE_FIND_PACKAGE_RapidJSON=ON >/dev/null
cmake --build "$top/build-sensor-only" --target hopwire-sensor --parallel "$(nproc)"
if ldd "$top/build-sensor-only/sensor/hopwire-sensor" "$top/build/sensor/hopwire-sensor" | grep -Ei 'rocksdb|yaml|nats'; then
  echo "the sensor links a collector-only library" >&2
  exit 1
fi

echo "== tests"
cd "$top/build"
ctest --output-on-failure
