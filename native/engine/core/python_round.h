// Python's round(x) for the places where the engine reproduces a number the
// reference computes with it: to the nearest integer, a tie to the even one
// (round(2.5) == 2, round(3.5) == 4), unlike std::round (ties away from zero).
// Independent of the floating-point environment's rounding mode.
#pragma once

#include <cmath>

namespace wn {

inline double round_half_even(double x) {
  const double floor_x = std::floor(x);
  const double diff = x - floor_x;
  if (diff < 0.5) return floor_x;
  if (diff > 0.5) return floor_x + 1.0;
  return std::fmod(floor_x, 2.0) == 0.0 ? floor_x : floor_x + 1.0;
}

}  // namespace wn
