#pragma once
// One quantity over the last minute, hour and day, the way Kismet's REST
// API shows it (kismet.common.rrd.*): 60 one-second slots, 60 one-minute
// slots and 24 one-hour slots, each indexed by absolute time (second t goes
// to slot t % 60, its minute to (t / 60) % 60, its hour to (t / 3600) % 24),
// so a client rotates them with last_time. Samples of one second combine;
// each minute slot summarises the second ring and each hour slot the minute
// ring. Plain data: the owner locks.

#include <array>
#include <cstdint>

namespace hopwire::collector {

class rrd {
 public:
  // How samples combine. sum: a second adds its samples, a minute or hour
  // slot is the mean of the ring below (packets per second). peak: seconds
  // add, minutes and hours keep the highest (the peak rate). extreme: a
  // second keeps its highest sample, minutes and hours the highest too
  // (a backlog's high-water mark).
  enum class combine : std::uint8_t { sum, peak, extreme };

  explicit rrd(combine c = combine::sum) : combine_(c) {}

  // A sample at Unix second t. A second already past keeps what it had
  // unless it is at most 60 s old (then the sample is added to it); a gap
  // zeroes the slots it skipped; a gap over a day starts afresh.
  void add(double v, std::uint64_t t);
  // Moves the rings on to second t without adding anything (what Kismet does
  // before it shows a ring).
  void advance(std::uint64_t t) { add(0, t); }

  // Adds another ring of the same quantity slot by slot (channel records of
  // one channel string); both must have been moved on to the same second.
  void absorb(const rrd& o);

  std::uint64_t last_time() const { return last_time_; }
  double last_value() const { return last_value_; }
  double last_value_n1() const { return last_value_n1_; }  // the second before
  const std::array<double, 60>& minute() const { return minute_; }
  const std::array<double, 60>& hour() const { return hour_; }
  const std::array<double, 24>& day() const { return day_; }

 private:
  double element(double a, double b) const;
  template <std::size_t N>
  double summary(const std::array<double, N>& v) const;
  void clear();

  combine combine_;
  std::uint64_t last_time_ = 0;
  double last_value_ = 0, last_value_n1_ = 0;
  std::array<double, 60> minute_{};
  std::array<double, 60> hour_{};
  std::array<double, 24> day_{};
};

}  // namespace hopwire::collector
