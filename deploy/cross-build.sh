#!/bin/sh
# Builds the sensor alone (HOPWIRE_SENSOR_ONLY=ON) for a router CPU with
# Debian's cross compilers, size first: -Os, a section per function and
# object and --gc-sections, no RTTI, LTO, stripped.
#
#   deploy/cross-build.sh ARCH [BUILD_DIR]
#     ARCH       aarch64 | mipsel | native (this machine, same flags; for
#                comparing sizes)
#     BUILD_DIR  default ./build-ARCH
#
# Result: BUILD_DIR/hopwire-sensor, stripped (the unstripped binary stays in
# BUILD_DIR/sensor/). Set CMAKE_BUILD_PARALLEL_LEVEL to limit build jobs.
#
# The target's libraries (OpenSSL, libpcap, libnl, spdlog, fmt and what they
# link) are Debian's own packages for that architecture, fetched with
# apt-get download and unpacked into BUILD_DIR/sysroot rather than installed:
# Debian's Multi-Arch requires the same version of a library for the build
# machine and the target, and security updates reach amd64, arm64 and mipsel
# on different days (libssl-dev:mipsel cannot be installed next to an
# up-to-date libssl-dev:amd64 for that reason), so installing them would
# fail or force the build machine's own libraries to change.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
arch=${1:-}
case "$arch" in
  aarch64) debarch=arm64 triplet=aarch64-linux-gnu ;;
  mipsel) debarch=mipsel triplet=mipsel-linux-gnu ;;
  native) debarch="" triplet="" ;;
  *) echo "usage: $0 aarch64|mipsel|native [BUILD_DIR]" >&2; exit 2 ;;
esac
build=${2:-"$top/build-$arch"}
mkdir -p "$build"
build=$(cd "$build" && pwd)

# Compilers, cmake, flatc, the header-only libraries (idempotent).
"$top/deploy/setup-debian.sh"

if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi

# The target's libraries: run-time packages (with everything they link, for
# linking and for running under qemu-user) and the -dev packages.
runtime="libssl3 libpcap0.8 libnl-3-200 libnl-genl-3-200 libspdlog1.10 libfmt9
  libdbus-1-3 libsystemd0 libcap2 libgcrypt20 libgpg-error0 liblz4-1 liblzma5 libzstd1"
dev="libssl-dev libpcap0.8-dev libdbus-1-dev libnl-3-dev libnl-genl-3-dev libspdlog-dev libfmt-dev"

make_sysroot() {
  sysroot=$build/sysroot
  if ! dpkg --print-foreign-architectures | grep -qx "$debarch"; then
    echo "cross-build: adding Debian architecture $debarch" >&2
    $sudo dpkg --add-architecture "$debarch"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  fi
  # What apt would fetch now, name=version; unchanged list, nothing to do.
  wanted=""
  for p in $runtime $dev; do
    v=$(apt-cache policy "$p:$debarch" | sed -n 's/^  Candidate: //p')
    if [ -z "$v" ] || [ "$v" = "(none)" ]; then
      $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
      v=$(apt-cache policy "$p:$debarch" | sed -n 's/^  Candidate: //p')
    fi
    [ -n "$v" ] && [ "$v" != "(none)" ] || { echo "cross-build: no package $p:$debarch in the archive" >&2; exit 1; }
    wanted="$wanted $p:$debarch=$v"
  done
  if [ -f "$sysroot/.packages" ] && [ "$(cat "$sysroot/.packages")" = "$wanted" ]; then
    return 0
  fi
  echo "cross-build: unpacking $debarch packages into $sysroot" >&2
  rm -rf "$sysroot" "$build/debs"
  mkdir -p "$sysroot" "$build/debs"
  # apt-get download writes into the current directory; as root it warns
  # that the _apt user cannot write there, which is harmless.
  (cd "$build/debs" && apt-get download -q $wanted 2>&1 | grep -v "^W: Download is performed unsandboxed" >&2 || true)
  for p in $runtime $dev; do
    ls "$build/debs/${p}_"*"_$debarch.deb" >/dev/null 2>&1 || { echo "cross-build: download of $p:$debarch failed" >&2; exit 1; }
  done
  for deb in "$build"/debs/*.deb; do dpkg-deb -x "$deb" "$sysroot"; done
  # Absolute symlinks (libfoo.so -> /lib/...) must point into the sysroot.
  find "$sysroot" -type l | while read -r link; do
    target=$(readlink "$link")
    case "$target" in /*) ln -sfn "$sysroot$target" "$link" ;; esac
  done
  echo "$wanted" > "$sysroot/.packages"
}

# On x86_64, relative relocations packed as DT_RELR (binutils 2.38+, glibc
# 2.36+ at run time) instead of 24 bytes each: -36 KiB. GNU ld 2.40 packs
# them only for x86. (Measured and left out: gold's --icf=all, -28 KiB on
# x86_64 but nothing on aarch64; -Oz, -flto-partition=one and
# -fno-asynchronous-unwind-tables, no change.)
ld_flags="-Wl,--gc-sections"
if [ "$arch" = native ] && [ "$(uname -m)" = x86_64 ]; then
  ld_flags="$ld_flags -Wl,-z,pack-relative-relocs"
fi
set -- -G Ninja -DCMAKE_BUILD_TYPE=MinSizeRel -DHOPWIRE_SENSOR_ONLY=ON -DHOPWIRE_BUILD_TESTS=OFF \
  -DCMAKE_INTERPROCEDURAL_OPTIMIZATION=ON \
  "-DCMAKE_CXX_FLAGS_MINSIZEREL=-Os -DNDEBUG -ffunction-sections -fdata-sections -fno-rtti" \
  "-DCMAKE_EXE_LINKER_FLAGS_MINSIZEREL=$ld_flags"

if [ -n "$triplet" ]; then
  command -v "$triplet-g++" >/dev/null || { echo "cross-build: $triplet-g++ missing" >&2; exit 1; }
  make_sysroot
  # Boost is header-only here: the build machine's package config (it
  # finds its headers component by itself only outside a cross build).
  boost_config=$(dirname "$(dpkg -L libboost1.74-dev | grep '/BoostConfig.cmake$' | head -n 1)")
  boost_headers=$(dirname "$(dpkg -L libboost1.74-dev | grep '/boost_headers-config.cmake$' | head -n 1)")
  set -- "$@" -DCMAKE_TOOLCHAIN_FILE="$top/deploy/cross/debian.cmake" \
    -DHOPWIRE_CROSS_TRIPLET="$triplet" -DHOPWIRE_CROSS_SYSROOT="$build/sysroot" \
    -DBoost_DIR="$boost_config" -Dboost_headers_DIR="$boost_headers" \
    -DCLI11_DIR="$top/deploy/cross/cmake" -DFlatBuffers_DIR="$top/deploy/cross/cmake" \
    -DHOPWIRE_HOST_FLATC="$(command -v flatc)"
  strip=$triplet-strip
else
  strip=strip
fi

cmake -S "$top" -B "$build" "$@" >"$build/configure.log" || { cat "$build/configure.log" >&2; exit 1; }
cmake --build "$build" --target hopwire-sensor
"$strip" -o "$build/hopwire-sensor" "$build/sensor/hopwire-sensor"
echo "cross-build: $build/hopwire-sensor ($(stat -c %s "$build/hopwire-sensor") bytes, stripped)"
