// The oneDNN CPU engine and stream, one per thread (worker_threads each get their own).
#pragma once
#include <dnnl.hpp>

namespace vitlens {

struct Engine {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
};

inline Engine& engine() {
  thread_local Engine e;
  return e;
}

}  // namespace vitlens
