#pragma once
// Crafted radiotap frames for the benchmarks: RSN beacons, probe requests
// and protected QoS data, from as many distinct MACs as asked.

#include <cstdint>
#include <string>
#include <vector>

namespace hopwire::bench {

void put_mac(std::vector<std::uint8_t>& v, std::uint64_t mac) {
  for (int i = 5; i >= 0; --i) v.push_back(static_cast<std::uint8_t>(mac >> (i * 8)));
}

// Radiotap: flags-free header with Channel (2437 MHz) and dBm signal.
void radiotap(std::vector<std::uint8_t>& v, std::int8_t signal) {
  const std::uint8_t h[] = {0, 0, 16, 0, 0x28, 0, 0, 0,  // len 16, present: channel(3) + signal(5)
                            0, 0, 0, 0,                   // pad to 2-aligned channel at 8
                            0x85, 0x09, 0xa0, 0x00};      // 2437, flags 0x00a0
  v.insert(v.end(), h, h + 8);
  v.push_back(0x85);
  v.push_back(0x09);
  v.push_back(0xa0);
  v.push_back(0x00);
  v.push_back(static_cast<std::uint8_t>(signal));
  v.resize(v.size() + 3, 0);
  v[2] = static_cast<std::uint8_t>(8 + 4 + 1 + 3);
}

std::vector<std::uint8_t> beacon(std::uint64_t bssid, int n) {
  std::vector<std::uint8_t> v;
  radiotap(v, static_cast<std::int8_t>(-40 - n % 50));
  const std::uint8_t fc[] = {0x80, 0x00, 0, 0};
  v.insert(v.end(), fc, fc + 4);
  put_mac(v, 0xffffffffffffULL);
  put_mac(v, bssid);
  put_mac(v, bssid);
  v.push_back(0), v.push_back(0);
  v.resize(v.size() + 8, 0);              // timestamp
  v.push_back(0x64), v.push_back(0x00);   // interval 100 TU
  v.push_back(0x11), v.push_back(0x04);   // ESS + privacy
  const std::string ssid = "bench-ap-" + std::to_string(n);
  v.push_back(0), v.push_back(static_cast<std::uint8_t>(ssid.size()));
  v.insert(v.end(), ssid.begin(), ssid.end());
  const std::uint8_t rates[] = {1, 8, 0x82, 0x84, 0x8b, 0x96, 0x0c, 0x12, 0x18, 0x24};
  v.insert(v.end(), rates, rates + sizeof rates);
  v.push_back(3), v.push_back(1), v.push_back(6);  // DS channel 6
  const std::uint8_t rsn[] = {48, 20, 1, 0, 0x00, 0x0f, 0xac, 4, 1, 0, 0x00, 0x0f, 0xac, 4,
                              1, 0, 0x00, 0x0f, 0xac, 2, 0x80, 0};
  v.insert(v.end(), rsn, rsn + sizeof rsn);
  return v;
}

std::vector<std::uint8_t> probe(std::uint64_t sta, int n) {
  std::vector<std::uint8_t> v;
  radiotap(v, static_cast<std::int8_t>(-60 - n % 30));
  const std::uint8_t fc[] = {0x40, 0x00, 0, 0};
  v.insert(v.end(), fc, fc + 4);
  put_mac(v, 0xffffffffffffULL);
  put_mac(v, sta);
  put_mac(v, 0xffffffffffffULL);
  v.push_back(0), v.push_back(0);
  const std::string ssid = (n % 3 == 0) ? "" : "home-" + std::to_string(n % 97);
  v.push_back(0), v.push_back(static_cast<std::uint8_t>(ssid.size()));
  v.insert(v.end(), ssid.begin(), ssid.end());
  const std::uint8_t rates[] = {1, 4, 0x82, 0x84, 0x8b, 0x96};
  v.insert(v.end(), rates, rates + sizeof rates);
  return v;
}

std::vector<std::uint8_t> data(std::uint64_t sta, std::uint64_t bssid, int n) {
  std::vector<std::uint8_t> v;
  radiotap(v, static_cast<std::int8_t>(-55 - n % 30));
  const std::uint8_t fc[] = {0x88, 0x41, 0, 0};  // QoS data, ToDS, protected
  v.insert(v.end(), fc, fc + 4);
  put_mac(v, bssid);
  put_mac(v, sta);
  put_mac(v, 0x0000c0ffee01ULL);
  v.push_back(0), v.push_back(0);
  v.push_back(0), v.push_back(0);  // QoS control
  v.resize(v.size() + 8 + 100, 0x5a);  // CCMP header + payload
  return v;
}

struct workload {
  std::vector<std::vector<std::uint8_t>> frames;
  std::size_t aps = 0;  // the first `aps` frames are the APs' beacons
};

// 5 % of MACs are APs (beacons), the rest stations; each station sends a
// probe request and data frames to an AP.
workload make_workload(std::size_t devices, std::uint64_t mac_base) {
  workload w;
  const std::size_t aps = std::max<std::size_t>(1, devices / 20);
  w.aps = aps;
  for (std::size_t i = 0; i < devices; ++i) {
    const std::uint64_t mac = mac_base + i;
    if (i < aps) {
      w.frames.push_back(beacon(mac, static_cast<int>(i)));
    } else {
      const std::uint64_t ap = mac_base + (i % aps);
      w.frames.push_back(probe(mac, static_cast<int>(i)));
      w.frames.push_back(data(mac, ap, static_cast<int>(i)));
      w.frames.push_back(data(mac, ap, static_cast<int>(i) + 1));
    }
  }
  return w;
}

}  // namespace hopwire::bench
