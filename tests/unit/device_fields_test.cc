// The one field list of a device (track/device_fields.h) against everything
// that goes field by field: the stored record round-trips every field, a
// copy holds every field, and the JSON writer shows every field — so a field
// added to device.h and forgotten in one of them fails here.

#include <gtest/gtest.h>

#include <utility>
#include <rapidjson/stringbuffer.h>

#include <cmath>
#include <cstring>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include "collector/api/device_json.h"
#include "collector/api/ek_writer.h"
#include "collector/core/source_table.h"
#include "collector/persist/device_codec.h"
#include "collector/track/device_fields.h"
#include "collector/track/device_tracker.h"

using namespace hopwire;
using namespace hopwire::collector;

namespace {

// Gives every field its own value; lists get two entries, optional parts exist.
struct filler {
  std::uint64_t n = 0;
  std::uint64_t next() { return ++n; }
  template <typename T>
  void num(const char*, T& v) {
    if constexpr (std::is_floating_point_v<T>) v = static_cast<T>(next()) + 0.25;
    else if constexpr (sizeof(T) == 8) v = static_cast<T>(next() * 3'000'000'017ull);  // ns: whole seconds apart
    else v = static_cast<T>(next() * 7 + 1);
  }
  void flag(const char*, bool& v) { v = true; }
  void mac(const char*, mac_addr& m) { m.v = 0x020000000000ull + next(); }
  void str(const char*, std::string& s) { s = "s" + std::to_string(next()); }
  void signal(const char*, signal_stats& s) {
    s.valid = true;
    s.last = static_cast<std::int16_t>(-40 - static_cast<int>(next() % 30));
    s.min = static_cast<std::int16_t>(s.last - 5);
    s.max = static_cast<std::int16_t>(s.last + 5);
  }
  void source(const char*, std::uint32_t& i) { i = static_cast<std::uint32_t>(next() % 2); }
  template <typename T, std::size_t N, typename Fn>
  void list(const char*, compact_vec<T, N>& v, std::size_t, Fn&& fn) {
    v.resize(2);
    for (auto& e : v) fn(*this, e);
  }
  template <typename T, typename Fn>
  void optional(const char*, detail_ptr<T>& p, Fn&& fn) {
    fn(*this, p.emplace());
  }
};

// Flattens every field to text, in order, so two devices compare as strings.
struct dumper {
  std::string out;
  template <typename T>
  void num(const char* name, const T& v) {
    out += name;
    out += '=';
    if constexpr (std::is_floating_point_v<T>) out += std::to_string(v);
    else out += std::to_string(static_cast<long long>(v));
    out += ';';
  }
  void flag(const char* name, bool v) { num(name, static_cast<int>(v)); }
  void mac(const char* name, mac_addr m) { num(name, static_cast<long long>(m.v)); }
  void str(const char* name, const std::string& s) { out += std::string(name) + "='" + s + "';"; }
  void signal(const char* name, const signal_stats& s) {
    out += std::string(name) + "=" + std::to_string(s.last) + "/" + std::to_string(s.min) + "/" +
           std::to_string(s.max) + "/" + std::to_string(s.valid) + ";";
  }
  void source(const char* name, std::uint32_t i) { num(name, i); }
  template <typename T, std::size_t N, typename Fn>
  void list(const char* name, const compact_vec<T, N>& v, std::size_t, Fn&& fn) {
    out += std::string(name) + "[" + std::to_string(v.size()) + "]{";
    for (const auto& e : v) fn(*this, e);
    out += "}";
  }
  template <typename T, typename Fn>
  void optional(const char* name, const detail_ptr<T>& p, Fn&& fn) {
    out += std::string(name) + (p ? "{" : "-");
    if (p) {
      fn(*this, *p);
      out += "}";
    }
  }
};

// Changes the k-th scalar field (counting through lists and optional parts)
// enough to show in any view of it, and remembers its name.
struct perturber {
  std::size_t target, seen = 0;
  std::string name;
  bool hit(const char* n) {
    if (seen++ != target) return false;
    name = n;
    return true;
  }
  template <typename T>
  void num(const char* n, T& v) {
    if (!hit(n)) return;
    if constexpr (std::is_floating_point_v<T>) v = v * 1.5 + 11;
    else if constexpr (sizeof(T) == 8) v = static_cast<T>(v + 7'000'000'011ull);
    else v = static_cast<T>(v + 37);
  }
  void flag(const char* n, bool& v) {
    if (hit(n)) v = !v;
  }
  void mac(const char* n, mac_addr& m) {
    if (hit(n)) m.v ^= 0x0000000a0b0cull;
  }
  void str(const char* n, std::string& s) {
    if (hit(n)) s += "x";
  }
  void signal(const char* n, signal_stats& s) {
    if (hit(n)) s.last = static_cast<std::int16_t>(s.last - 3);
  }
  void source(const char* n, std::uint32_t& i) {
    if (hit(n)) i ^= 1;
  }
  template <typename T, std::size_t N, typename Fn>
  void list(const char*, compact_vec<T, N>& v, std::size_t, Fn&& fn) {
    for (auto& e : v) fn(*this, e);
  }
  template <typename T, typename Fn>
  void optional(const char*, detail_ptr<T>& p, Fn&& fn) {
    if (p) fn(*this, *p);
  }
};

std::string dump(const device& d) {
  dumper v;
  visit_device(v, d);
  return v.out;
}

device filled() {
  device d;
  filler f;
  visit_device(f, d);
  return d;
}

struct json_fixture {
  oui_table ouis;
  source_table sources;
  device_tracker tracker{{}, ouis, sources};
  json_fixture() {
    sources.index_of("5fe308bd-0000-4000-8000-000000000001", "one");
    sources.index_of("5fe308bd-0000-4000-8000-000000000002", "two");
  }
  std::string json(const device& d) {
    std::string out;
    {
      string_sink sink(out);
      json_writer w(sink);
      write_device(w, d, tracker);
    }
    return out;
  }
};

}  // namespace

TEST(device_fields, the_stored_record_keeps_every_field) {
  json_fixture fx;
  const device d = filled();
  std::string rec;
  encode_device(d, [&](std::uint32_t i) { return fx.sources.get(i).uuid; }, rec);
  device back;
  ASSERT_TRUE(decode_device(rec, back, [&](const std::string& u) { return fx.sources.index_of(u, ""); }));
  EXPECT_EQ(dump(back), dump(d));
  EXPECT_EQ(fx.json(back), fx.json(d));
}

TEST(device_fields, a_damaged_record_is_refused_at_every_length) {
  json_fixture fx;
  std::string rec;
  encode_device(filled(), [&](std::uint32_t i) { return fx.sources.get(i).uuid; }, rec);
  for (std::size_t n = 0; n < rec.size(); ++n) {
    device back;
    EXPECT_FALSE(decode_device(std::string_view(rec).substr(0, n), back,
                               [&](const std::string& u) { return fx.sources.index_of(u, ""); }))
        << "a record cut to " << n << " of " << rec.size() << " bytes was accepted";
  }
}

TEST(device_fields, a_copy_holds_every_field_and_owns_its_parts) {
  device d = filled();
  device c;
  c = d;
  EXPECT_EQ(dump(c), dump(d));
  ASSERT_TRUE(c.wifi && d.wifi);
  EXPECT_NE(c.wifi.get(), d.wifi.get());
  c.wifi->ap->advertised[0].ssid = "changed";
  EXPECT_NE(dump(c), dump(d));
}

// Every field is shown somewhere in the device's JSON: changing it changes
// the JSON. Fields whose change cannot show are listed with the reason.
TEST(device_fields, the_json_shows_every_field) {
  json_fixture fx;
  const device base = filled();
  const std::string base_json = fx.json(base);
  std::set<std::string> missing;
  std::size_t k = 0;
  for (;; ++k) {
    device d = base;
    perturber p{k, 0, {}};
    visit_device(p, d);
    if (p.name.empty()) break;  // past the last field
    if (fx.json(d) == base_json) missing.insert(p.name + " (field " + std::to_string(k) + ")");
  }
  EXPECT_GT(k, 100u) << "the field list looks too short";
  std::string text;
  for (const auto& m : missing) text += "\n  " + m;
  EXPECT_TRUE(missing.empty()) << "fields that do not show in the JSON:" << text;
}

// The list writer copies the keys it spells instead of escaping them byte
// by byte (json_writer::LiteralKey); what it writes must be exactly what
// rapidjson writes from the same events through Key.
TEST(device_fields, copied_keys_write_the_same_json_as_rapidjson) {
  json_fixture fx;
  const device d = filled();
  const std::string fast = fx.json(d);
  rapidjson::Document doc;
  auto gen = [&](rapidjson::Document& into) {
    doc_builder b(into);
    write_device(b, d, fx.tracker);
    return true;
  };
  doc.Populate(gen);
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> plain(buf);
  doc.Accept(plain);
  EXPECT_EQ(fast, std::string(buf.GetString(), buf.GetSize()));
  rapidjson::Document back;
  EXPECT_FALSE(back.Parse(fast.data(), fast.size()).HasParseError());
  EXPECT_GT(back.MemberCount(), 20u);
}

// The device's list type: the std::vector operations the tracker uses, with
// elements that own memory (strings longer than the small-string buffer), so
// a lost or doubled element shows as a wrong string, not only as a count.
template <std::size_t N>
void exercise_compact_vec() {
  auto s = [](int i) { return "a string well past sixteen bytes, number " + std::to_string(i); };
  compact_vec<std::string, N> v;
  EXPECT_EQ(sizeof(v), N ? sizeof(std::string) + 8 : 16u);
  std::vector<std::size_t> caps;
  for (int i = 0; i < 20; ++i) {
    v.push_back(s(i));
    if (caps.empty() || caps.back() != v.capacity()) caps.push_back(v.capacity());
  }
  EXPECT_EQ(caps, (std::vector<std::size_t>{1, 2, 3, 4, 6, 9, 13, 19, 28}));
  // An element of the list itself pushed when the list must grow.
  compact_vec<std::string, N> self;
  self.push_back(s(0));
  self.push_back(self.back());
  EXPECT_EQ(self[1], s(0));

  compact_vec<std::string, N> copy = v;
  v.erase(v.begin());        // the oldest, as the association list does
  v.erase(v.begin() + 3, v.begin() + 5);
  ASSERT_EQ(v.size(), 17u);
  EXPECT_EQ(v.front(), s(1));
  EXPECT_EQ(v[3], s(6));
  EXPECT_EQ(v.back(), s(19));
  EXPECT_EQ(copy.size(), 20u);  // the copy is its own
  EXPECT_EQ(copy[0], s(0));

  compact_vec<std::string, N> moved = std::move(copy);
  EXPECT_TRUE(copy.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
  EXPECT_EQ(moved.size(), 20u);
  moved = v;  // copy-assign over a longer list
  EXPECT_EQ(moved.size(), 17u);
  EXPECT_EQ(moved[16], s(19));

  v.resize(2);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[1], s(2));
  v.resize(4);
  EXPECT_EQ(v[3], "");
  v.clear();
  EXPECT_TRUE(v.empty());
  EXPECT_EQ(v.begin(), v.end());
}

TEST(compact_vec, behaves_as_a_vector_of_owning_elements) { exercise_compact_vec<0>(); }

TEST(compact_vec, with_one_element_inline_behaves_the_same) { exercise_compact_vec<1>(); }

// What only the inline form has: a list of one lives inside the object, so
// copies, moves and swaps between inline and heap lists move elements.
TEST(compact_vec, an_inline_element_survives_copies_moves_and_swaps) {
  const std::string a = "the inline element, longer than the small-string buffer";
  const std::string b = "an element on the heap, also longer than that buffer";
  compact_vec<std::string, 1> one;
  one.push_back(a);
  EXPECT_EQ(one.capacity(), 1u);
  const auto* inside = reinterpret_cast<const char*>(&one);
  EXPECT_TRUE(reinterpret_cast<const char*>(one.data()) >= inside &&
              reinterpret_cast<const char*>(one.data()) < inside + sizeof(one));
  compact_vec<std::string, 1> copy = one;
  compact_vec<std::string, 1> moved = std::move(one);
  EXPECT_TRUE(one.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_EQ(moved[0], a);
  EXPECT_EQ(copy[0], a);
  compact_vec<std::string, 1> many;
  for (int i = 0; i < 3; ++i) many.push_back(b);
  std::swap(many, copy);
  ASSERT_EQ(many.size(), 1u);
  EXPECT_EQ(many[0], a);
  ASSERT_EQ(copy.size(), 3u);
  EXPECT_EQ(copy[2], b);
  copy = many;  // a heap list assigned a list of one
  ASSERT_EQ(copy.size(), 1u);
  EXPECT_EQ(copy[0], a);
  many = std::move(moved);
  EXPECT_EQ(many[0], a);
  many.pop_back();
  EXPECT_TRUE(many.empty());
  many.push_back(b);  // inline again after emptying
  EXPECT_EQ(many[0], b);
}
