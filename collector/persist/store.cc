#include "collector/persist/store.h"

#include <sys/statvfs.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <stdexcept>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <rocksdb/db.h>
#include <rocksdb/memtablerep.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include "common/log.h"

namespace hopwire::collector {

namespace {

const char* const kFamilies[] = {"default", "meta", "sources", "devices", "packets", "annotations", "alerts", "watchlist"};
std::mutex g_error_mu;

std::string encode(const stored_source& s) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("uuid"); w.String(s.uuid.c_str(), s.uuid.size());
  w.Key("name"); w.String(s.name.c_str(), s.name.size());
  w.Key("type"); w.String(s.type.c_str(), s.type.size());
  w.Key("interface"); w.String(s.interface.c_str(), s.interface.size());
  w.Key("definition"); w.String(s.definition.c_str(), s.definition.size());
  w.Key("dlt"); w.Uint(s.dlt);
  w.Key("boot_id"); w.Uint64(s.boot_id);
  w.Key("last_seq"); w.Uint64(s.last_seq);
  w.Key("num_packets"); w.Uint64(s.num_packets);
  w.Key("num_error_packets"); w.Uint64(s.num_error_packets);
  w.Key("dropped_ring_base"); w.Uint64(s.dropped_ring_base);
  w.Key("dropped_ring_boot"); w.Uint64(s.dropped_ring_boot);
  w.Key("dropped_kernel_base"); w.Uint64(s.dropped_kernel_base);
  w.Key("dropped_kernel_boot"); w.Uint64(s.dropped_kernel_boot);
  w.Key("reconnects"); w.Uint64(s.reconnects);
  w.Key("first_seen_ns"); w.Uint64(s.first_seen_ns);
  w.Key("last_seen_ns"); w.Uint64(s.last_seen_ns);
  w.Key("remote_ip"); w.String(s.remote_ip.c_str(), s.remote_ip.size());
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

bool decode(std::string_view text, stored_source& s) {
  rapidjson::Document d;
  d.Parse(text.data(), text.size());
  if (d.HasParseError() || !d.IsObject()) return false;
  auto str = [&](const char* k, std::string& out) {
    auto it = d.FindMember(k);
    if (it != d.MemberEnd() && it->value.IsString()) out.assign(it->value.GetString(), it->value.GetStringLength());
  };
  auto u64 = [&](const char* k, std::uint64_t& out) {
    auto it = d.FindMember(k);
    if (it != d.MemberEnd() && it->value.IsUint64()) out = it->value.GetUint64();
  };
  str("uuid", s.uuid);
  str("name", s.name);
  str("type", s.type);
  str("interface", s.interface);
  str("definition", s.definition);
  std::uint64_t dlt = 0;
  u64("dlt", dlt);
  s.dlt = static_cast<std::uint32_t>(dlt);
  u64("boot_id", s.boot_id);
  u64("last_seq", s.last_seq);
  u64("num_packets", s.num_packets);
  u64("num_error_packets", s.num_error_packets);
  u64("dropped_ring_base", s.dropped_ring_base);
  u64("dropped_ring_boot", s.dropped_ring_boot);
  u64("dropped_kernel_base", s.dropped_kernel_base);
  u64("dropped_kernel_boot", s.dropped_kernel_boot);
  u64("reconnects", s.reconnects);
  u64("first_seen_ns", s.first_seen_ns);
  u64("last_seen_ns", s.last_seen_ns);
  str("remote_ip", s.remote_ip);
  return !s.uuid.empty();
}

}  // namespace

store::store(const std::filesystem::path& dir, bool read_only, packet_log_options log) {
  rocksdb::DBOptions opts;
  opts.create_if_missing = true;
  opts.create_missing_column_families = true;
  opts.max_open_files = -1;  // FIFO TTL needs every file open; there are few
  opts.allow_concurrent_memtable_write = false;  // required by the vector memtable
  opts.keep_log_file_num = 4;
  opts.max_total_wal_size = 64 << 20;
  // Memory the database may take is bounded, so the collector's RSS
  // settles: one block cache for every family, with the files' index and
  // filter blocks inside it rather than beside it (they grow with the
  // files), and memtables sized per family — RocksDB's default of 64 MiB,
  // two per family, is for write-heavy servers with memory to spare.
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(16 << 20);
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  const auto table_factory = std::shared_ptr<rocksdb::TableFactory>(rocksdb::NewBlockBasedTableFactory(table));
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (const char* name : kFamilies) {
    rocksdb::ColumnFamilyOptions cf;
    cf.table_factory = table_factory;
    cf.max_write_buffer_number = 2;
    // Devices: every changed device is rewritten once a second, so a
    // memtable fills with versions of the same keys; 16 MiB flushes often
    // enough and holds a city's hot set. The rest are written by people.
    cf.write_buffer_size = std::string_view(name) == "devices" ? 16 << 20 : 4 << 20;
    if (std::string_view(name) == "devices") {
      // Written every second, read only by the iterator at start: a vector
      // memtable appends (sorted once, at flush, newest version kept)
      // where a skiplist paid a search per device — about 15 % of the
      // collector's CPU with 100 000 devices changing (docs/performance.md).
      cf.memtable_factory = std::make_shared<rocksdb::VectorRepFactory>();
    }
    if (std::string_view(name) == "packets") {
      // Append-only, time-ordered: FIFO compaction drops whole files, the
      // oldest first, when the size limit or the TTL is reached — retention
      // that never rewrites data and never stalls the writer.
      const std::uint64_t limit = std::max<std::uint64_t>(log.max_bytes, 1 << 20);
      cf.write_buffer_size = static_cast<std::size_t>(std::clamp<std::uint64_t>(limit / 8, 256 << 10, 32 << 20));
      cf.compaction_style = rocksdb::kCompactionStyleFIFO;
      // Keys arrive nearly in order and are only appended: a vector
      // memtable (sorted once, at flush) inserts cheaper than a skiplist.
      cf.memtable_factory = std::make_shared<rocksdb::VectorRepFactory>();
      // Files plus the two memtables stay under the limit.
      cf.compaction_options_fifo.max_table_files_size = limit > 3 * cf.write_buffer_size ? limit - 3 * cf.write_buffer_size
                                                                                        : limit / 2;
      log_limit_now_ = log_limit_base_ = cf.compaction_options_fifo.max_table_files_size;
      // A file a second at low rates: let FIFO merge small files.
      cf.compaction_options_fifo.allow_compaction = true;
      cf.ttl = log.retention_seconds;
      cf.periodic_compaction_seconds = 0;
      cf.level0_file_num_compaction_trigger = 16;
      // Packet bytes compress poorly and cost CPU on the ingest machine;
      // retention is by size anyway.
      cf.compression = rocksdb::kNoCompression;
    }
    cfs.emplace_back(name, cf);
  }
  rocksdb::DB* raw = nullptr;
  if (read_only && !std::filesystem::exists(dir / "CURRENT"))
    throw std::runtime_error("no database in " + dir.string());
  if (read_only) {
    // A read-only open names only families that exist: a database written
    // before a family was added lacks it.
    std::vector<std::string> present;
    if (rocksdb::DB::ListColumnFamilies(opts, dir.string(), &present).ok())
      std::erase_if(cfs, [&](const rocksdb::ColumnFamilyDescriptor& d) {
        return std::find(present.begin(), present.end(), d.name) == present.end();
      });
  }
  auto st = read_only ? rocksdb::DB::OpenForReadOnly(opts, dir.string(), cfs, &handles_, &raw)
                      : rocksdb::DB::Open(opts, dir.string(), cfs, &handles_, &raw);
  if (!st.ok()) {
    std::string why = st.ToString();
    if (st.IsIOError() && why.find("lock") != std::string::npos)
      why += " (is another hopwire-collector running on this state directory?)";
    throw std::runtime_error("cannot open database " + dir.string() + ": " + why);
  }
  db_.reset(raw);
  read_only_ = read_only;
  dir_ = dir;
  log_ = log;
  // By name: a read-only open of an older database lacks the newer
  // families, and those handles stay null.
  auto family = [this](std::string_view name) -> rocksdb::ColumnFamilyHandle* {
    for (auto* h : handles_)
      if (h->GetName() == name) return h;
    return nullptr;
  };
  meta_ = family("meta");
  sources_ = family("sources");
  devices_ = family("devices");
  packets_ = family("packets");
  annotations_ = family("annotations");
  rows_[static_cast<int>(row_table::alerts)] = family("alerts");
  rows_[static_cast<int>(row_table::watchlist)] = family("watchlist");

  if (struct statvfs fs {}; ::statvfs(dir.c_str(), &fs) == 0)
    free_bytes_ = static_cast<std::uint64_t>(fs.f_bavail) * static_cast<std::uint64_t>(fs.f_frsize);

  std::string version;
  st = db_->Get(rocksdb::ReadOptions(), meta_, "schema_version", &version);
  if (st.IsNotFound() && read_only) {
    throw std::runtime_error("database " + dir.string() + " has no schema version");
  } else if (st.IsNotFound()) {
    st = db_->Put(rocksdb::WriteOptions(), meta_, "schema_version", std::to_string(kSchemaVersion));
    if (!st.ok()) throw std::runtime_error("cannot write to database " + dir.string() + ": " + st.ToString());
  } else if (!st.ok()) {
    throw std::runtime_error("cannot read database " + dir.string() + ": " + st.ToString());
  } else if (version != std::to_string(kSchemaVersion)) {
    throw std::runtime_error("database " + dir.string() + " has schema version " + version + "; this collector reads " +
                             std::to_string(kSchemaVersion) + ". Use a matching collector or move the directory away.");
  }
}

store::~store() {
  if (db_) {
    if (!read_only_) db_->FlushWAL(true);
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
    db_->Close();
  }
}

bool store::put_source(const stored_source& s) {
  rocksdb::WriteOptions wo;
  wo.sync = false;
  auto st = db_->Put(wo, sources_, s.uuid, encode(s));
  return record(st);
}

std::vector<stored_source> store::load_sources() {
  std::vector<stored_source> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), sources_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    stored_source s;
    if (decode(it->value().ToStringView(), s)) {
      out.push_back(std::move(s));
    } else {
      spdlog::error("database: source record {} is unreadable; skipping it", it->key().ToString());
    }
  }
  return out;
}

namespace {

std::string mac_key(std::uint64_t mac) {
  std::string k(8, '\0');
  for (int i = 0; i < 8; ++i) k[i] = static_cast<char>(mac >> (56 - 8 * i));
  return k;
}

}  // namespace

bool store::write_devices(const device_changes& changes) {
  rocksdb::WriteBatch batch;
  for (const auto& [mac, rec] : changes.put) batch.Put(devices_, mac_key(mac), rec);
  for (const auto mac : changes.erase) batch.Delete(devices_, mac_key(mac));
  rocksdb::WriteOptions wo;
  wo.sync = false;
  auto st = db_->Write(wo, &batch);
  return record(st);
}

void store::load_devices(const std::function<void(std::uint64_t, std::string_view)>& fn) {
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, devices_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const auto k = it->key();
    if (k.size() != 8) continue;
    std::uint64_t mac = 0;
    for (int i = 0; i < 8; ++i) mac = mac << 8 | static_cast<unsigned char>(k[i]);
    fn(mac, it->value().ToStringView());
  }
}

bool store::put_annotation(std::uint64_t mac, std::string_view value) {
  if (!annotations_) return false;
  rocksdb::WriteOptions wo;
  wo.sync = false;
  const auto st = value.empty() ? db_->Delete(wo, annotations_, mac_key(mac))
                                : db_->Put(wo, annotations_, mac_key(mac), rocksdb::Slice(value.data(), value.size()));
  return record(st);
}

void store::load_annotations(const std::function<void(std::uint64_t, std::string_view)>& fn) {
  if (!annotations_) return;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), annotations_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const auto k = it->key();
    if (k.size() != 8) continue;
    std::uint64_t mac = 0;
    for (int i = 0; i < 8; ++i) mac = mac << 8 | static_cast<unsigned char>(k[i]);
    fn(mac, it->value().ToStringView());
  }
}

bool store::put_rows(row_table t, const std::vector<std::pair<std::string, std::string>>& rows) {
  auto* cf = rows_[static_cast<int>(t)];
  if (!cf) return false;
  rocksdb::WriteBatch batch;
  for (const auto& [k, v] : rows) batch.Put(cf, k, v);
  rocksdb::WriteOptions wo;
  wo.sync = false;
  return record(db_->Write(wo, &batch));
}

bool store::erase_row(row_table t, std::string_view key) {
  auto* cf = rows_[static_cast<int>(t)];
  if (!cf) return false;
  return record(db_->Delete(rocksdb::WriteOptions(), cf, rocksdb::Slice(key.data(), key.size())));
}

bool store::erase_rows(row_table t, std::string_view from, std::string_view to) {
  auto* cf = rows_[static_cast<int>(t)];
  if (!cf) return false;
  return record(db_->DeleteRange(rocksdb::WriteOptions(), cf, rocksdb::Slice(from.data(), from.size()),
                                 rocksdb::Slice(to.data(), to.size())));
}

void store::load_rows(row_table t, const std::function<void(std::string_view, std::string_view)>& fn) {
  auto* cf = rows_[static_cast<int>(t)];
  if (!cf) return;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf));
  for (it->SeekToFirst(); it->Valid(); it->Next()) fn(it->key().ToStringView(), it->value().ToStringView());
}

bool store::write_packet_blocks(const std::vector<std::pair<std::string, std::string>>& blocks) {
  rocksdb::WriteBatch batch;
  for (const auto& [k, v] : blocks) batch.Put(packets_, k, v);
  rocksdb::WriteOptions wo;
  wo.sync = false;
  // No WAL: packet bytes would be written twice. flush_packets() puts the
  // memtable into a file every second instead, which bounds a crash's loss
  // to that second.
  wo.disableWAL = true;
  auto st = db_->Write(wo, &batch);
  return record(st);
}

namespace {

class rocks_cursor final : public packet_cursor {
 public:
  explicit rocks_cursor(rocksdb::Iterator* it) : it_(it) {}
  bool valid() const override { return it_->Valid(); }
  std::string_view key() const override { return it_->key().ToStringView(); }
  std::string_view value() const override { return it_->value().ToStringView(); }
  void next() override { it_->Next(); }

 private:
  std::unique_ptr<rocksdb::Iterator> it_;
};

}  // namespace

std::unique_ptr<packet_cursor> store::packets_from(std::string_view start_key) const {
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  auto* it = db_->NewIterator(ro, packets_);
  it->Seek(rocksdb::Slice(start_key.data(), start_key.size()));
  return std::make_unique<rocks_cursor>(it);
}

bool store::flush_packets() {
  rocksdb::FlushOptions fo;
  fo.wait = true;
  fo.allow_write_stall = true;
  auto st = db_->Flush(fo, packets_);
  return record(st);
}

std::uint64_t store::packet_log_bytes() const {
  std::uint64_t files = 0, mem = 0;
  db_->GetIntProperty(packets_, "rocksdb.total-sst-files-size", &files);
  db_->GetIntProperty(packets_, "rocksdb.cur-size-all-mem-tables", &mem);
  return files + mem;
}

bool store::record(const rocksdb::Status& st) {
  if (st.ok()) return true;
  write_errors_.fetch_add(1, std::memory_order_relaxed);
  write_failed_ = true;
  state_ = storage_state::failing;
  std::lock_guard lock(g_error_mu);
  last_error_ = st.ToString();
  return false;
}

const char* storage_state_name(storage_state s) {
  switch (s) {
    case storage_state::ok: return "ok";
    case storage_state::low_space: return "low_space";
    case storage_state::failing: return "failing";
  }
  return "?";
}

void store::set_packet_log_limit(std::uint64_t bytes) {
  bytes = std::max<std::uint64_t>(bytes, 1);
  if (bytes == log_limit_now_.load()) return;
  const auto st = db_->SetOptions(packets_, {{"compaction_options_fifo",
                                              "{max_table_files_size=" + std::to_string(bytes) + ";}"}});
  if (!st.ok()) {
    spdlog::warn("storage: cannot change the packet log's size limit: {}", st.ToString());
    return;
  }
  log_limit_now_ = bytes;
  // FIFO drops files when it compacts; ask for that now, not at the next flush.
  rocksdb::CompactRangeOptions cro;
  db_->CompactRange(cro, packets_, nullptr, nullptr);
}

void store::maintain() {
  if (read_only_) return;
  struct statvfs fs {};
  if (::statvfs(dir_.c_str(), &fs) == 0)
    free_bytes_ = static_cast<std::uint64_t>(fs.f_bavail) * static_cast<std::uint64_t>(fs.f_frsize);
  const std::uint64_t free = free_bytes_.load();
  const auto before = state_.load();

  // A failed store: RocksDB stops writing after a background error (a full
  // disk during a flush); Resume() clears it once the cause is gone. Tried
  // every 2 s; a write that succeeds afterwards proves it.
  if (write_failed_) {
    const auto now = std::chrono::steady_clock::now();
    if (now - last_resume_try_ >= std::chrono::seconds(2)) {
      last_resume_try_ = now;
      const auto st = db_->Resume();
      rocksdb::WriteOptions wo;
      const auto probe = st.ok() ? db_->Put(wo, meta_, "probe", std::to_string(now.time_since_epoch().count()))
                                 : st;
      if (probe.ok()) {
        write_failed_ = false;
        resumes_.fetch_add(1, std::memory_order_relaxed);
      }
    }
  }

  // Below the low-water mark the packet log gives way: its limit drops to
  // what leaves the mark free, and FIFO removes its oldest files.
  // The limit FIFO was opened with: the configured size less the memtables.
  const std::uint64_t configured = log_.max_bytes ? log_limit_base_ : 0;
  if (configured && log_.low_water_bytes) {
    std::uint64_t files = 0;
    db_->GetIntProperty(packets_, "rocksdb.total-sst-files-size", &files);
    if (free < log_.low_water_bytes) {
      const std::uint64_t want_free = log_.low_water_bytes - free;
      set_packet_log_limit(files > want_free ? files - want_free : 1);
    } else if (free > 2 * log_.low_water_bytes && log_limit_now_.load() < configured) {
      // Space came back: let the log grow again, at most to its own limit.
      set_packet_log_limit(std::min(configured, files + (free - 2 * log_.low_water_bytes)));
    }
  }

  storage_state now_state = storage_state::ok;
  if (write_failed_) now_state = storage_state::failing;
  else if (log_.low_water_bytes && free < log_.low_water_bytes) now_state = storage_state::low_space;
  state_ = now_state;
  if (now_state != before) {
    std::string text;
    bool bad = true;
    if (now_state == storage_state::failing) {
      text = fmt::format("storage: writes to {} fail ({}); sensors are not acknowledged until it recovers, "
                         "{} MiB free", dir_.string(), last_error(), free >> 20);
      spdlog::error("{}", text);
    } else if (now_state == storage_state::low_space) {
      text = fmt::format("storage: {} MiB free on {}, below the low-water mark of {} MiB: the packet log sheds its "
                         "oldest packets", free >> 20, dir_.string(), log_.low_water_bytes >> 20);
      spdlog::warn("{}", text);
    } else {
      text = fmt::format("storage: {} writes again ({} MiB free)", dir_.string(), free >> 20);
      spdlog::info("{}", text);
      bad = false;
    }
    if (notify_) notify_(now_state, text, bad);
  }
}

std::string store::last_error() const {
  std::lock_guard lock(g_error_mu);
  return last_error_;
}

}  // namespace hopwire::collector
