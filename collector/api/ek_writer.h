#pragma once
// JSON output for device lists: a rapidjson output stream that appends to a
// std::string (the HTTP body, no copy), the Writer over it, and ek_writer,
// which writes like Writer but turns every '.' in object keys into '_' —
// Kismet's .ekjson format, for tools (Elasticsearch) that read dots as
// nesting.

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <rapidjson/document.h>

#include <rapidjson/writer.h>

namespace hopwire::collector {

// Buffers output and appends it to the string in large pieces; Writer
// flushes at the end of every top-level value, so the string is complete
// whenever a value is.
class string_sink {
 public:
  using Ch = char;
  explicit string_sink(std::string& s) : s_(&s) {}
  string_sink(const string_sink&) = delete;
  string_sink& operator=(const string_sink&) = delete;
  ~string_sink() { Flush(); }

  void Put(char c) {
    if (n_ == sizeof buf_) Flush();
    buf_[n_++] = c;
  }
  void Flush() {
    s_->append(buf_, n_);
    n_ = 0;
  }
  void Write(const char* p, std::size_t n) {
    if (n_ + n > sizeof buf_) Flush();
    if (n > sizeof buf_) {
      s_->append(p, n);
      return;
    }
    std::memcpy(buf_ + n_, p, n);
    n_ += n;
  }
  std::string& str() {
    Flush();
    return *s_;
  }

 private:
  std::string* s_;
  std::size_t n_ = 0;
  char buf_[16384];
};

// rapidjson's Writer, plus keys copied whole: Writer::Key escapes a key
// byte by byte, and keys are most of a device list's bytes (a quarter of
// the time of a full list went there). LiteralKey is for keys the code
// spells, which never need escaping; anything from input goes through Key.
class json_writer : public rapidjson::Writer<string_sink> {
 public:
  using rapidjson::Writer<string_sink>::Writer;
  bool LiteralKey(const char* k, std::size_t n) {
    Prefix(rapidjson::kStringType);
    os_->Put('"');
    os_->Write(k, n);
    os_->Put('"');
    return true;
  }
};

class ek_writer {
 public:
  using Ch = char;
  explicit ek_writer(string_sink& out) : w_(out) {}

  bool Null() { return w_.Null(); }
  bool Bool(bool b) { return w_.Bool(b); }
  bool Int(int i) { return w_.Int(i); }
  bool Uint(unsigned u) { return w_.Uint(u); }
  bool Int64(std::int64_t i) { return w_.Int64(i); }
  bool Uint64(std::uint64_t u) { return w_.Uint64(u); }
  bool Double(double d) { return w_.Double(d); }
  bool RawNumber(const Ch* s, rapidjson::SizeType n, bool copy) { return w_.RawNumber(s, n, copy); }
  bool String(const Ch* s, rapidjson::SizeType n, bool copy = false) { return w_.String(s, n, copy); }
  bool StartObject() { return w_.StartObject(); }
  bool Key(const Ch* s, rapidjson::SizeType n, bool = false) {
    key_.assign(s, n);
    for (auto& c : key_)
      if (c == '.') c = '_';
    return w_.Key(key_.data(), static_cast<rapidjson::SizeType>(key_.size()), true);
  }
  bool EndObject(rapidjson::SizeType n = 0) { return w_.EndObject(n); }
  bool StartArray() { return w_.StartArray(); }
  bool EndArray(rapidjson::SizeType n = 0) { return w_.EndArray(n); }
  void Reset(string_sink& out) { w_.Reset(out); }

 private:
  json_writer w_;
  std::string key_;
};

// Builds a rapidjson Document from SAX events like a Writer takes them
// (EndObject/EndArray without counts): the Document needs the counts, so
// this keeps them.
class doc_builder {
 public:
  using Ch = char;
  explicit doc_builder(rapidjson::Document& doc) : d_(doc) {}

  bool Null() { return value() && d_.Null(); }
  bool Bool(bool b) { return value() && d_.Bool(b); }
  bool Int(int i) { return value() && d_.Int(i); }
  bool Uint(unsigned u) { return value() && d_.Uint(u); }
  bool Int64(std::int64_t i) { return value() && d_.Int64(i); }
  bool Uint64(std::uint64_t u) { return value() && d_.Uint64(u); }
  bool Double(double v) { return value() && d_.Double(v); }
  bool String(const Ch* s, rapidjson::SizeType n, bool = false) { return value() && d_.String(s, n, true); }
  bool Key(const Ch* s, rapidjson::SizeType n, bool = false) { return d_.Key(s, n, true); }
  bool StartObject() {
    value();
    counts_.push_back(0);
    return d_.StartObject();
  }
  bool EndObject(rapidjson::SizeType = 0) {
    const auto n = counts_.back();
    counts_.pop_back();
    return d_.EndObject(n);
  }
  bool StartArray() {
    value();
    counts_.push_back(0);
    return d_.StartArray();
  }
  bool EndArray(rapidjson::SizeType = 0) {
    const auto n = counts_.back();
    counts_.pop_back();
    return d_.EndArray(n);
  }

 private:
  // Every value is one element of its array or one member of its object.
  bool value() {
    if (!counts_.empty()) ++counts_.back();
    return true;
  }
  rapidjson::Document& d_;
  std::vector<rapidjson::SizeType> counts_;
};

}  // namespace hopwire::collector
