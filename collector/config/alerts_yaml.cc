#include "collector/config/alerts_yaml.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "common/host_port.h"
#include "common/units.h"

namespace hopwire::collector {

namespace {

using path_t = std::filesystem::path;

// Thrown inside this file only, caught per key: one error line each.
struct bad : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string where(const path_t& path, const YAML::Node& n) {
  const auto m = n.Mark();
  return path.string() + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

[[noreturn]] void fail(const path_t& path, const YAML::Node& n, const std::string& what) {
  throw bad(where(path, n) + ": " + what);
}

std::string text(const path_t& path, const std::string& key, const YAML::Node& n, const char* expected) {
  if (!n.IsScalar()) fail(path, n, key + ": expected " + expected);
  return n.Scalar();
}

bool boolean(const path_t& path, const std::string& key, const YAML::Node& n) {
  if (n.IsScalar()) {
    try {
      return n.as<bool>();
    } catch (const YAML::Exception&) {
    }
  }
  fail(path, n, key + ": expected true or false" + (n.IsScalar() ? ", got '" + n.Scalar() + "'" : std::string()));
}

long long integer(const path_t& path, const std::string& key, const YAML::Node& n, long long lo, long long hi,
                  const char* expected) {
  if (n.IsScalar()) {
    try {
      const auto v = n.as<long long>();
      if (v >= lo && v <= hi) return v;
    } catch (const YAML::Exception&) {
    }
  }
  fail(path, n, key + ": expected " + expected + (n.IsScalar() ? ", got '" + n.Scalar() + "'" : std::string()));
}

std::uint64_t duration_ns(const path_t& path, const std::string& key, const YAML::Node& n, const char* expected) {
  std::string why;
  const auto d = try_parse_duration(text(path, key, n, expected), why);
  if (!d) fail(path, n, key + ": " + why);
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(*d).count());
}

alert_rate rate(const path_t& path, const std::string& key, const YAML::Node& n) {
  std::string why;
  const auto r = try_parse_alert_rate(text(path, key, n, "a rate such as 10/min or 1/sec"), why);
  if (!r) fail(path, n, key + ": " + why);
  return *r;
}

std::uint8_t severity(const path_t& path, const std::string& key, const YAML::Node& n) {
  const std::string t = text(path, key, n, "0, 5, 10, 15, 20 or info, low, medium, high, critical");
  static constexpr std::pair<const char*, std::uint8_t> kNames[] = {
      {"0", 0}, {"5", 5}, {"10", 10}, {"15", 15}, {"20", 20}, {"info", 0}, {"low", 5},
      {"medium", 10}, {"high", 15}, {"critical", 20}};
  std::string lower = t;
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const auto& [name, v] : kNames)
    if (lower == name) return v;
  fail(path, n, key + ": expected 0, 5, 10, 15, 20 or info, low, medium, high, critical, got '" + t + "'");
}

mac_mask mac(const path_t& path, const std::string& key, const YAML::Node& n) {
  std::string why;
  const auto m = try_parse_mac_mask(text(path, key, n, "a MAC address"), why);
  if (!m) fail(path, n, key + ": " + why);
  return *m;
}

template <typename Fn>
void each_key(const path_t& path, const YAML::Node& map, const char* what, const char* known,
              std::vector<std::string>& errors, Fn&& fn) {
  if (!map.IsMap()) fail(path, map, std::string(what) + ": expected a mapping (" + known + ")");
  for (const auto& kv : map) {
    const std::string key = kv.first.Scalar();
    try {
      if (!fn(key, kv.second)) fail(path, kv.first, std::string(what) + ": unknown key '" + key + "' (known: " + known + ")");
    } catch (const bad& e) {
      errors.push_back(e.what());
    }
  }
}

bool known_alert(const std::string& upper) {
  for (const char* n : kBuiltinAlertNames)
    if (upper == n) return true;
  return false;
}

void parse_definitions(const path_t& path, const YAML::Node& v, alerts_config& out, std::vector<std::string>& errors) {
  if (!v.IsMap()) fail(path, v, "definitions: expected a mapping of alert names, e.g. DEAUTHFLOOD: {rate: 5/min}");
  for (const auto& kv : v) {
    std::string name = kv.first.Scalar();
    for (auto& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    try {
      if (!known_alert(name)) {
        std::string list;
        for (const char* n : kBuiltinAlertNames) list += (list.empty() ? "" : ", ") + std::string(n);
        fail(path, kv.first, "definitions: unknown alert '" + kv.first.Scalar() + "' (known: " + list +
                                 "; alerts defined over REST take their limits from define_alert.cmd)");
      }
      alert_definition_config d;
      const YAML::Node& body = kv.second;
      if (body.IsScalar()) {
        // Kismet's line: "rate,burst", or off / false.
        const std::string t = body.Scalar();
        if (t == "off" || t == "false") {
          d.enabled = false;
        } else {
          const auto comma = t.find(',');
          if (comma == std::string::npos)
            fail(path, body, name + ": expected RATE,BURST as in Kismet's alert= line (10/min,1/sec), or a mapping");
          std::string why;
          const auto lim = try_parse_alert_limits(t.substr(0, comma), t.substr(comma + 1), why);
          if (!lim) fail(path, body, name + ": " + why);
          d.rate = lim->rate;
          d.burst = lim->burst;
        }
      } else {
        each_key(path, body, name.c_str(), "enabled, rate, burst, severity", errors,
                 [&](const std::string& k, const YAML::Node& val) {
                   if (k == "enabled") d.enabled = boolean(path, k, val);
                   else if (k == "rate") d.rate = rate(path, k, val);
                   else if (k == "burst") d.burst = rate(path, k, val);
                   else if (k == "severity") d.severity = severity(path, k, val);
                   else return false;
                   return true;
                 });
        if (d.rate && d.burst && static_cast<int>(d.burst->unit) > static_cast<int>(d.rate->unit))
          fail(path, body, name + ": the burst's time unit may not be longer than the rate's");
      }
      if (out.definitions.count(name)) fail(path, kv.first, "definitions: " + name + " is given twice");
      out.definitions[name] = d;
    } catch (const bad& e) {
      errors.push_back(e.what());
    }
  }
}

void ssid_key(const path_t& path, const std::string& k, const YAML::Node& val, std::string& ssid, bool& glob) {
  ssid = text(path, k, val, "an SSID");
  glob = k == "ssid_match";
  if (ssid.empty() || ssid.size() > 32) fail(path, val, k + ": expected 1 to 32 bytes");
}

void parse_canaries(const path_t& path, const YAML::Node& v, alerts_config& out, std::vector<std::string>& errors) {
  if (!v.IsSequence()) fail(path, v, "canaries: expected a list of {name, ssid} (or ssid_match: a glob)");
  for (const auto& n : v) {
    try {
      ssid_canary c;
      each_key(path, n, "canary", "name, ssid, ssid_match", errors, [&](const std::string& k, const YAML::Node& val) {
        if (k == "name") c.name = text(path, k, val, "a name");
        else if (k == "ssid" || k == "ssid_match") ssid_key(path, k, val, c.ssid, c.glob);
        else return false;
        return true;
      });
      if (c.ssid.empty()) fail(path, n, "canary: give ssid (exact) or ssid_match (a glob with * and ?)");
      if (c.name.empty()) c.name = c.ssid;
      out.canaries.push_back(std::move(c));
    } catch (const bad& e) {
      errors.push_back(e.what());
    }
  }
}

std::uint8_t watch_types(const path_t& path, const std::string& k, const YAML::Node& val) {
  const std::string t = text(path, k, val, "found, lost or both");
  if (t == "found") return kWatchFound;
  if (t == "lost") return kWatchLost;
  if (t == "both") return kWatchBoth;
  fail(path, val, k + ": expected found, lost or both, got '" + t + "'");
}

void parse_watch(const path_t& path, const YAML::Node& v, alerts_config& out, std::vector<std::string>& errors) {
  if (!v.IsSequence()) fail(path, v, "watch: expected a list of {mac, type} (type: found, lost or both)");
  for (const auto& n : v) {
    try {
      watch_entry e;
      bool has_mac = false;
      if (n.IsScalar()) {
        e.mac = mac(path, "watch", n);
        has_mac = true;
      } else {
        each_key(path, n, "watch", "mac, type", errors, [&](const std::string& k, const YAML::Node& val) {
          if (k == "mac") e.mac = mac(path, k, val), has_mac = true;
          else if (k == "type") e.types = watch_types(path, k, val);
          else return false;
          return true;
        });
      }
      if (!has_mac) fail(path, n, "watch: give the mac (AA:BB:CC:DD:EE:FF, or with a mask /FF:FF:FF:00:00:00)");
      out.watch.push_back(e);
    } catch (const bad& e) {
      errors.push_back(e.what());
    }
  }
}

std::uint8_t facility(const path_t& path, const std::string& k, const YAML::Node& val) {
  static constexpr std::pair<const char*, std::uint8_t> kNames[] = {
      {"kern", 0},    {"user", 1},    {"mail", 2},    {"daemon", 3},  {"auth", 4},    {"syslog", 5},
      {"lpr", 6},     {"news", 7},    {"uucp", 8},    {"cron", 9},    {"authpriv", 10}, {"ftp", 11},
      {"local0", 16}, {"local1", 17}, {"local2", 18}, {"local3", 19}, {"local4", 20}, {"local5", 21},
      {"local6", 22}, {"local7", 23}};
  const std::string t = text(path, k, val, "a syslog facility");
  for (const auto& [name, f] : kNames)
    if (t == name) return f;
  fail(path, val, k + ": expected a facility such as local0 or daemon, got '" + t + "'");
}

void parse_syslog(const path_t& path, const YAML::Node& v, alerts_config& out, std::vector<std::string>& errors) {
  const auto one = [&](const YAML::Node& n) {
    syslog_output_config s;
    each_key(path, n, "syslog", "target, socket, facility, min_severity, app_name", errors,
             [&](const std::string& k, const YAML::Node& val) {
               if (k == "target") {
                 const std::string t = text(path, k, val, "local, or udp://HOST:PORT");
                 if (t == "local") {
                   s.udp = false;
                 } else {
                   std::string hp = t.rfind("udp://", 0) == 0 ? t.substr(6) : t;
                   try {
                     const auto parsed = parse_host_port(hp, "syslog target");
                     s.udp = true;
                     s.host = parsed.host;
                     s.port = parsed.port;
                   } catch (const std::exception& e) {
                     fail(path, val, k + ": expected local, or udp://HOST:PORT (" + e.what() + ")");
                   }
                 }
               } else if (k == "socket") {
                 s.socket_path = text(path, k, val, "a socket path");
               } else if (k == "facility") {
                 s.facility = facility(path, k, val);
               } else if (k == "min_severity") {
                 s.min_severity = severity(path, k, val);
               } else if (k == "app_name") {
                 s.app_name = text(path, k, val, "an app name");
                 if (s.app_name.empty() || s.app_name.size() > 48) fail(path, val, k + ": expected 1 to 48 characters");
               } else {
                 return false;
               }
               return true;
             });
    out.syslog.push_back(std::move(s));
  };
  if (v.IsMap()) one(v);
  else if (v.IsSequence())
    for (const auto& n : v) {
      try {
        one(n);
      } catch (const bad& e) {
        errors.push_back(e.what());
      }
    }
  else fail(path, v, "syslog: expected {target: local} or a list of them");
}

std::string read_secret(const path_t& path, const YAML::Node& val, const std::string& file) {
  std::ifstream in(file);
  if (!in) fail(path, val, "secret_file: cannot read " + file);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  if (s.empty()) fail(path, val, "secret_file: " + file + " is empty");
  return s;
}

void parse_webhooks(const path_t& path, const YAML::Node& v, alerts_config& out, std::vector<std::string>& errors) {
  if (!v.IsSequence()) fail(path, v, "webhooks: expected a list of {url, secret, ...}");
  for (const auto& n : v) {
    try {
      webhook_output_config w;
      const char* known = "url, secret, secret_file, timeout, attempts, backoff, backoff_max, queue, delay, "
                          "min_severity, tls_verify, ca_file";
      each_key(path, n, "webhook", known, errors, [&](const std::string& k, const YAML::Node& val) {
        auto ms = [&](const char* expected) {
          const auto ns = duration_ns(path, k, val, expected);
          if (ns / 1'000'000 > 86'400'000ull) fail(path, val, k + ": at most a day");
          return static_cast<std::uint32_t>(ns / 1'000'000);
        };
        if (k == "url") {
          w.url = text(path, k, val, "an http:// or https:// URL");
          if (w.url.rfind("http://", 0) != 0 && w.url.rfind("https://", 0) != 0)
            fail(path, val, k + ": expected an http:// or https:// URL, got '" + w.url + "'");
        } else if (k == "secret") {
          w.secret = text(path, k, val, "the HMAC key");
        } else if (k == "secret_file") {
          w.secret = read_secret(path, val, text(path, k, val, "a file holding the HMAC key"));
        } else if (k == "timeout") {
          w.timeout_ms = ms("a duration such as 5s");
          if (w.timeout_ms < 100) fail(path, val, k + ": at least 100ms");
        } else if (k == "attempts") {
          w.attempts = static_cast<std::uint32_t>(integer(path, k, val, 1, 100, "1 to 100"));
        } else if (k == "backoff") {
          w.backoff_ms = ms("a duration such as 1s");
        } else if (k == "backoff_max") {
          w.backoff_max_ms = ms("a duration such as 60s");
        } else if (k == "queue") {
          w.queue = static_cast<std::size_t>(integer(path, k, val, 1, 1'000'000, "1 to 1000000 alerts"));
        } else if (k == "delay") {
          w.delay_ms = ms("a duration such as 10s");
        } else if (k == "min_severity") {
          w.min_severity = severity(path, k, val);
        } else if (k == "tls_verify") {
          w.tls_verify = boolean(path, k, val);
        } else if (k == "ca_file") {
          w.ca_file = text(path, k, val, "a PEM file");
        } else {
          return false;
        }
        return true;
      });
      if (w.url.empty()) fail(path, n, "webhook: give the url");
      out.webhooks.push_back(std::move(w));
    } catch (const bad& e) {
      errors.push_back(e.what());
    }
  }
}

}  // namespace

void parse_alerts_yaml(const path_t& path, const YAML::Node& v, alerts_config& out, std::vector<std::string>& errors) {
  try {
    const char* known = "definitions, canaries, watch, found_timeout, lost_timeout, sensor_silence, merge_window, "
                        "overpowered_dbm, retention, max_tracked_bssids, outputs";
    if (v.IsNull()) return;
    if (v.IsScalar()) {
      out.engine = boolean(path, "alerts", v);  // alerts: off
      return;
    }
    each_key(path, v, "alerts", known, errors, [&](const std::string& k, const YAML::Node& val) {
      if (k == "definitions") parse_definitions(path, val, out, errors);
      else if (k == "canaries") parse_canaries(path, val, out, errors);
      else if (k == "watch") parse_watch(path, val, out, errors);
      else if (k == "found_timeout") out.found_timeout_ns = duration_ns(path, k, val, "a duration such as 60s");
      else if (k == "lost_timeout") out.lost_timeout_ns = duration_ns(path, k, val, "a duration such as 60s");
      else if (k == "sensor_silence") out.sensor_silence_ns = duration_ns(path, k, val, "a duration such as 5m (0: off)");
      else if (k == "merge_window") out.merge_window_ns = duration_ns(path, k, val, "a duration such as 10s (0: off)");
      else if (k == "overpowered_dbm")
        out.overpowered_dbm = static_cast<std::int16_t>(integer(path, k, val, -120, 0, "a signal in dBm, -120 to 0"));
      else if (k == "max_tracked_bssids")
        out.max_tracked_bssids = static_cast<std::size_t>(integer(path, k, val, 256, 10'000'000, "256 to 10000000"));
      else if (k == "retention")
        each_key(path, val, "retention", "count, age", errors, [&](const std::string& rk, const YAML::Node& rv) {
          if (rk == "count")
            out.retention_count = static_cast<std::size_t>(integer(path, rk, rv, 1, 10'000'000, "1 to 10000000 alerts"));
          else if (rk == "age") out.retention_age_ns = duration_ns(path, rk, rv, "a duration such as 30d (0: no limit)");
          else return false;
          return true;
        });
      else if (k == "outputs")
        each_key(path, val, "outputs", "syslog, webhooks", errors, [&](const std::string& ok, const YAML::Node& ov) {
          if (ok == "syslog") parse_syslog(path, ov, out, errors);
          else if (ok == "webhooks") parse_webhooks(path, ov, out, errors);
          else return false;
          return true;
        });
      else return false;
      return true;
    });
  } catch (const bad& e) {
    errors.push_back(e.what());
  }
}

void parse_known_networks_yaml(const path_t& path, const YAML::Node& v, alerts_config& out,
                               std::vector<std::string>& errors) {
  try {
    if (v.IsNull()) return;
    if (!v.IsSequence())
      fail(path, v, "known_networks: expected a list of {ssid, bssids, ouis, encryption, channels}");
    for (const auto& n : v) {
      try {
        known_network net;
        each_key(path, n, "known network", "name, ssid, ssid_match, bssids, ouis, encryption, channels", errors,
                 [&](const std::string& k, const YAML::Node& val) {
                   if (k == "name") {
                     net.name = text(path, k, val, "a name");
                   } else if (k == "ssid" || k == "ssid_match") {
                     ssid_key(path, k, val, net.ssid, net.glob);
                   } else if (k == "bssids" || k == "ouis") {
                     if (!val.IsSequence()) fail(path, val, k + ": expected a list of MACs");
                     for (const auto& m : val) {
                       mac_mask mm = mac(path, k, m);
                       if (k == "ouis" && mm.bits == 48)
                         fail(path, m, "ouis: expected an OUI such as 00:11:22 (a whole MAC belongs in bssids)");
                       net.bssids.push_back(mm);
                     }
                   } else if (k == "encryption") {
                     std::vector<YAML::Node> items;
                     if (val.IsSequence()) for (const auto& e : val) items.push_back(e);
                     else items.push_back(val);
                     for (const auto& e : items) {
                       const std::string t = text(path, k, e, "open, wep, wpa, wpa2, wpa3 or owe");
                       const auto bit = known_encryption_bit(t);
                       if (!bit) fail(path, e, k + ": expected open, wep, wpa, wpa2, wpa3 or owe, got '" + t + "'");
                       net.encryption |= bit;
                     }
                   } else if (k == "channels") {
                     if (!val.IsSequence()) fail(path, val, k + ": expected a list of channel numbers, e.g. [1, 6, 11, 36]");
                     for (const auto& c : val) {
                       std::string t = text(path, k, c, "a channel number");
                       // Kismet's syntax is welcome; the number is what beacons announce.
                       std::size_t digits = 0;
                       while (digits < t.size() && std::isdigit(static_cast<unsigned char>(t[digits]))) ++digits;
                       if (digits == 0 || digits > 3) fail(path, c, k + ": expected a channel number, got '" + t + "'");
                       const int ch = std::stoi(t.substr(0, digits));
                       if (ch < 1 || ch > 233) fail(path, c, k + ": channel numbers are 1 to 233, got '" + t + "'");
                       net.channels.push_back(static_cast<std::uint16_t>(ch));
                     }
                   } else {
                     return false;
                   }
                   return true;
                 });
        if (net.ssid.empty()) fail(path, n, "known network: give ssid (exact) or ssid_match (a glob with * and ?)");
        out.known_networks.push_back(std::move(net));
      } catch (const bad& e) {
        errors.push_back(e.what());
      }
    }
  } catch (const bad& e) {
    errors.push_back(e.what());
  }
}

}  // namespace hopwire::collector
