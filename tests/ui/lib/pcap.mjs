// Small crafted radiotap captures the tests need that tests/tools/make_capture.py
// does not make: an access point that is then hit by a deauthentication flood
// (Kismet's DEAUTHFLOOD and BCASTDISCON alerts).
import { writeFileSync } from 'node:fs';

function radiotap(freq, signal) {
  const b = Buffer.alloc(15);
  b.writeUInt8(0, 0); // version
  b.writeUInt8(0, 1); // pad
  b.writeUInt16LE(15, 2); // length
  b.writeUInt32LE((1 << 1) | (1 << 2) | (1 << 3) | (1 << 5), 4); // flags, rate, channel, dbm signal
  b.writeUInt8(0, 8); // flags
  b.writeUInt8(2, 9); // rate 1 Mb/s
  b.writeUInt16LE(freq, 10);
  b.writeUInt16LE(freq < 3000 ? 0x00a0 : 0x0140, 12);
  b.writeInt8(signal, 14);
  return b;
}

const mac = (s) => Buffer.from(s.split(':').map((x) => parseInt(x, 16)));
const ie = (id, body) => Buffer.concat([Buffer.from([id, body.length]), body]);

function beacon(bssid, seq, ssid, channel) {
  const h = Buffer.alloc(24);
  h.writeUInt8(0x80, 0);
  mac('ff:ff:ff:ff:ff:ff').copy(h, 4);
  mac(bssid).copy(h, 10);
  mac(bssid).copy(h, 16);
  h.writeUInt16LE((seq & 0xfff) << 4, 22);
  const fixed = Buffer.alloc(12);
  fixed.writeBigUInt64LE(BigInt(seq) * 102400n, 0);
  fixed.writeUInt16LE(100, 8);
  fixed.writeUInt16LE(0x0401, 10);
  return Buffer.concat([h, fixed, ie(0, Buffer.from(ssid)), ie(1, Buffer.from([0x82, 0x84, 0x8b, 0x96])), ie(3, Buffer.from([channel]))]);
}

function deauth(bssid, dest, seq, reason = 7) {
  const h = Buffer.alloc(26);
  h.writeUInt8(0xc0, 0);
  mac(dest).copy(h, 4);
  mac(bssid).copy(h, 10);
  mac(bssid).copy(h, 16);
  h.writeUInt16LE((seq & 0xfff) << 4, 22);
  h.writeUInt16LE(reason, 24);
  return h;
}

/**
 * Writes OUT.pcap: beacons of BSSID "alert-test-ap" on channel 6, then
 * `count` deauthentications from it within one second, to the broadcast
 * address and to a client.
 */
export function writeDeauthFlood(out, { bssid = '02:aa:bb:00:00:01', client = '06:aa:bb:00:00:02', count = 40, start = Date.now() / 1000 } = {}) {
  const parts = [];
  const hdr = Buffer.alloc(24);
  hdr.writeUInt32LE(0xa1b2c3d4, 0);
  hdr.writeUInt16LE(2, 4);
  hdr.writeUInt16LE(4, 6);
  hdr.writeUInt32LE(65535, 16);
  hdr.writeUInt32LE(127, 20); // radiotap
  parts.push(hdr);
  let t = Math.floor(start * 1e6);
  const rec = (frame) => {
    const pkt = Buffer.concat([radiotap(2437, -42), frame]);
    const r = Buffer.alloc(16);
    r.writeUInt32LE(Math.floor(t / 1e6), 0);
    r.writeUInt32LE(t % 1e6, 4);
    r.writeUInt32LE(pkt.length, 8);
    r.writeUInt32LE(pkt.length, 12);
    parts.push(r, pkt);
    t += 10000;
  };
  for (let i = 0; i < 5; i++) rec(beacon(bssid, i, 'alert-test-ap', 6));
  for (let i = 0; i < count; i++) rec(deauth(bssid, i % 2 ? client : 'ff:ff:ff:ff:ff:ff', 100 + i));
  writeFileSync(out, Buffer.concat(parts));
  return out;
}
