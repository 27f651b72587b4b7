#!/bin/sh
# The main job, from a fresh Debian 12 machine: installs what is needed,
# builds, starts a collector with its state in ./var/quickstart and a sensor
# replaying a real capture from tests/data in a loop, and says where to look.
# Ctrl-C stops both.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
HOPWIRE_SETUP=build "$top/deploy/build.sh"

state="$top/var/quickstart/state"
port=${HOPWIRE_PORT:-2501}
mkdir -p "$top/var/quickstart"
collector="$top/build/collector/hopwire-collector"
sensor="$top/build/sensor/hopwire-sensor"
capture="$top/tests/data/wifite2_handshake_not_exists.cap"

"$collector" --state-dir "$state" --listen "127.0.0.1:$port" --remote-capture-port 0 \
  >"$top/var/quickstart/collector.log" 2>&1 &
collector_pid=$!
sensor_pid=""
cleanup() {
  [ -n "$sensor_pid" ] && kill "$sensor_pid" 2>/dev/null || true
  kill "$collector_pid" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

# Wait for the listener (and for the first-start password to be written).
i=0
until curl -s -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null; do
  i=$((i + 1))
  if [ $i -gt 100 ] || ! kill -0 "$collector_pid" 2>/dev/null; then
    echo "collector did not start; its log:" >&2
    cat "$top/var/quickstart/collector.log" >&2
    exit 1
  fi
  sleep 0.1
done

pwfile="$state/admin-password"
HOPWIRE_PASSWORD=$(cat "$pwfile") "$sensor" --connect "127.0.0.1:$port" --user admin \
  --source "$capture:name=quickstart-replay,realtime=true,loop=true" \
  >"$top/var/quickstart/sensor.log" 2>&1 &
sensor_pid=$!

cat <<EOT

Hopwire is running.
  Web UI:          http://127.0.0.1:$port/   <- open this; log in as admin
  Admin password:  $pwfile   (user admin)
  Sensors connect: ws://127.0.0.1:$port/datasource/remote/remotesource.ws
  Sensor:          replaying $(basename "$capture") in a loop, as source 'quickstart-replay'
  Logs:            $top/var/quickstart/collector.log, sensor.log

Try:
  curl -s -u admin:\$(cat $pwfile) http://127.0.0.1:$port/datasource/all_sources.json
  curl -s -u admin:\$(cat $pwfile) http://127.0.0.1:$port/system/status.json
  curl -s -u admin:\$(cat $pwfile) http://127.0.0.1:$port/devices/views/phydot11_accesspoints/devices.json
  curl -N -s -u admin:\$(cat $pwfile) http://127.0.0.1:$port/pcap/all_packets.pcapng | tshark -r -

Ctrl-C stops both.
EOT
wait "$collector_pid"
