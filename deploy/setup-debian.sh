#!/bin/sh
# Installs the Debian 12 packages that building and testing Hopwire need,
# including what ../shared/vm/hwsim-vm needs to boot its Wi-Fi test VM (QEMU,
# a Debian kernel with mac80211_hwsim, hostapd, iw).
# Idempotent: packages already present are left alone, so it is cheap to run
# before every build. Runs apt-get through sudo when not root.
set -eu

# build: what building and running Hopwire needs (deploy/quickstart.sh).
# test (the default): that plus what the whole test suite needs.
profile=${1:-test}

packages="
  build-essential cmake ninja-build pkg-config git
  libboost-dev libssl-dev libpcap-dev libnl-3-dev libnl-genl-3-dev
  libflatbuffers-dev flatbuffers-compiler libspdlog-dev libfmt-dev libcli11-dev
  librocksdb-dev libyaml-cpp-dev rapidjson-dev zlib1g-dev libre2-dev libnats-dev
  libgtest-dev libgmock-dev
  ieee-data curl tshark procps
"
case "$profile" in
  build) ;;
  test)
    packages="$packages
  systemd qemu-user g++-aarch64-linux-gnu g++-mipsel-linux-gnu
  python3 python3-pytest python3-flatbuffers iproute2 openssl
  nginx-light
  qemu-system-x86 busybox-static cpio kmod xz-utils iw tcpdump hostapd wpasupplicant
  wireless-regdb socat linux-image-amd64
  chromium python3-websockets python3-scapy libwebsockets17 nats-server
"
    ;;
  *) echo "usage: $0 [build|test]" >&2; exit 2 ;;
esac

missing=""
for p in $packages; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done

# The web UI is built with Node.js and npm (Debian's packages, unless a
# newer Node.js is installed already).
if ! command -v npm >/dev/null 2>&1; then
  missing="$missing nodejs npm"
fi

if [ -z "$missing" ]; then
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  sudo=""
else
  sudo="sudo"
fi

echo "hopwire setup: installing$missing" >&2
# wireshark-common asks whether non-root users may capture; answer no.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $sudo debconf-set-selections
# Installing a server (nginx, used by the proxy test) must not start it: a
# policy-rc.d that says "no" for the duration of the install, unless the
# machine already has one.
policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  policy=/usr/sbin/policy-rc.d
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
  $sudo chmod 755 "$policy"
fi
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
if [ -n "$policy" ]; then $sudo rm -f "$policy"; fi
