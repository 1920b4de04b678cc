#pragma once
// Small calls run on the calling thread. Waking OpenMP's other threads costs microseconds on a
// quiet machine and milliseconds on a busy one (a descheduled thread holds up the join), while a
// decoding step's layer norms, head permutes and per-head products over 4 rows take
// microseconds: at batch 4 they cost more in joins than in work. The choice depends only on the
// call's shape, so the same shape always runs the same way (and reuses the same cached primitive).
#include <omp.h>

#include <cstdint>

namespace vitlens {

// Below these a second thread does not pay for itself (measured on 2-core AVX2 and AVX-512 hosts).
constexpr double kSerialElements = 1 << 15;  // elementwise / row operations: elements touched
constexpr double kSerialFlops = 1 << 21;     // matrix products: 2*M*N*K

class SerialIfSmall {
 public:
  SerialIfSmall(double work, double threshold) {
    if (work < threshold && omp_get_max_threads() > 1) {
      previous_ = omp_get_max_threads();
      omp_set_num_threads(1);
    }
  }
  ~SerialIfSmall() {
    if (previous_ > 0) omp_set_num_threads(previous_);
  }
  SerialIfSmall(const SerialIfSmall&) = delete;
  SerialIfSmall& operator=(const SerialIfSmall&) = delete;

 private:
  int previous_ = 0;
};

}  // namespace vitlens
