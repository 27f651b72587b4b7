#include "collector/core/rrd.h"

#include <algorithm>

namespace hopwire::collector {

double rrd::element(double a, double b) const {
  return combine_ == combine::extreme ? std::max(a, b) : a + b;
}

template <std::size_t N>
double rrd::summary(const std::array<double, N>& v) const {
  if (combine_ == combine::sum) {
    double s = 0;
    for (double x : v) s += x;
    return s / static_cast<double>(N);
  }
  return *std::max_element(v.begin(), v.end());
}

void rrd::clear() {
  minute_.fill(0);
  hour_.fill(0);
  day_.fill(0);
  last_value_ = last_value_n1_ = 0;
}

void rrd::add(double v, std::uint64_t t) {
  if (last_time_ != 0 && t < last_time_) {
    // Late: only the last minute's slots still hold their seconds.
    if (last_time_ - t >= 60) return;
    double& slot = minute_[t % 60];
    slot = element(slot, v);
  } else {
    if (last_time_ == 0 || t - last_time_ > 86400) {
      clear();
    } else if (t > last_time_) {
      // Zero what the gap skipped, in each ring, at most one turn of it.
      for (std::uint64_t s = last_time_ + 1; s < t && s < last_time_ + 61; ++s) minute_[s % 60] = 0;
      for (std::uint64_t m = last_time_ / 60 + 1; m <= t / 60 && m < last_time_ / 60 + 61; ++m) hour_[m % 60] = 0;
      for (std::uint64_t h = last_time_ / 3600 + 1; h <= t / 3600 && h < last_time_ / 3600 + 25; ++h) day_[h % 24] = 0;
    }
    double& slot = minute_[t % 60];
    if (t == last_time_) {
      slot = element(slot, v);
    } else {
      last_value_n1_ = last_time_ != 0 && t == last_time_ + 1 ? last_value_ : 0;
      slot = v;
    }
    last_value_ = slot;
    last_time_ = t;
  }
  hour_[(last_time_ / 60) % 60] = summary(minute_);
  day_[(last_time_ / 3600) % 24] = summary(hour_);
}

void rrd::absorb(const rrd& o) {
  if (o.last_time_ == 0) return;
  if (last_time_ == 0) {
    *this = o;
    return;
  }
  for (std::size_t i = 0; i < 60; ++i) {
    minute_[i] = element(minute_[i], o.minute_[i]);
    hour_[i] = element(hour_[i], o.hour_[i]);
  }
  for (std::size_t i = 0; i < 24; ++i) day_[i] = element(day_[i], o.day_[i]);
  last_value_ = element(last_value_, o.last_value_);
  last_value_n1_ = element(last_value_n1_, o.last_value_n1_);
}

}  // namespace hopwire::collector
