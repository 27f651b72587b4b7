#pragma once
// A capture backend: fills the ring from a radio or a file on its own thread.

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <memory>
#include <string>
#include <vector>

#include "common/channel.h"
#include "common/source_definition.h"
#include "sensor/packet_ring.h"

namespace hopwire::sensor {

// What a source tells the collector about itself in Hello.
struct source_identity {
  std::string uuid;
  std::string name;
  std::string type;
  std::string interface;
  std::string definition;  // redacted
  std::uint32_t dlt = 0;
  std::vector<std::string> channels;
};

// Settings every source shares, from the command line.
struct source_globals {
  bool fixed_gps = false;
  wire::GpsFix gps{};
};

class capture_source {
 public:
  virtual ~capture_source() = default;

  const source_identity& identity() const { return id_; }

  // Starts capturing into `ring` on a thread of the source's own. `on_done`
  // runs on that thread when a finite source has delivered everything.
  virtual void start(packet_ring& ring, std::function<void()> on_done) = 0;
  virtual void stop() = 0;

  // True once a finite source (a non-looping replay) has pushed every packet.
  bool finished() const { return finished_.load(std::memory_order_acquire); }
  // Empty unless the source ended with an error (e.g. a truncated file).
  std::string error() const;
  virtual std::uint64_t kernel_drops() const { return 0; }
  virtual std::string current_channel() const { return {}; }
  virtual std::uint32_t current_freq_khz() const { return 0; }
  // A channel plan from the collector. Returns false (and keeps the plan in
  // force) when nothing of it can be used; `in_force` is the list followed
  // from now on, `message` says what was left out and why.
  virtual bool configure(const hop_plan& plan, std::string& message, std::vector<std::string>& in_force) {
    message = "source type " + id_.type + " cannot change channels";
    return false;
  }

 protected:
  void set_error(std::string e);
  source_identity id_;
  std::atomic<bool> finished_{false};

 private:
  mutable std::mutex error_mu_;
  std::string error_;
};

// Chooses the backend for a definition: a path to a file means pcapfile.
// Throws std::invalid_argument / std::runtime_error with a clear message.
std::unique_ptr<capture_source> make_capture_source(const source_definition& def,
                                                    const source_globals& globals);

}  // namespace hopwire::sensor
