// Keeps signal handlers off the stack pointer of oneDNN's JIT sgemm kernels.
//
// oneDNN 2.x's "nocopy" sgemm kernels (jit_avx_gemm_f32 on AVX/AVX2, taken for K > 252, and
// jit_avx512_common_gemm_f32) point rsp into a heap workspace while they run. A signal handled on
// that thread's ordinary stack then writes its frame (~1-3 KB with the AVX state) below that
// pointer, into the neighbouring heap chunks: glibc later aborts with "corrupted size vs.
// prev_size", "free(): invalid size", ... in some unrelated free(). V8's tick profiler (--prof,
// --cpu-prof) sends SIGPROF to the main thread every 1 ms or less, so it hit this 2 runs in 3; any
// other handled signal (libuv's SIGWINCH / SIGCHLD / SIGINT handlers) can hit it at random.
// Upstream: https://github.com/uxlfoundation/oneDNN/issues/4845, fixed in 3.11 (PR #4855).
//
// SignalGuard spans each oneDNN execute on the calling thread: asynchronous signals wait until it
// ends, except SIGPROF when its handler runs on an alternate signal stack (V8's does, SA_ONSTACK)
// and this thread has one: the guard gives the thread one, so profiles stay as fine-grained.
// OpenMP's worker threads run the same kernels: block_signals_in_omp_workers() blocks the
// asynchronous signals in them for good (signals sent to the process go to the other threads).
#pragma once
#include <signal.h>

namespace vitlens {

class SignalGuard {
 public:
  SignalGuard();
  ~SignalGuard();
  SignalGuard(const SignalGuard&) = delete;
  SignalGuard& operator=(const SignalGuard&) = delete;

 private:
  sigset_t previous_;
};

// Blocks the asynchronous signals in every OpenMP worker thread of the calling thread's pool (up
// to omp_get_max_threads()); call again after raising the thread count.
void block_signals_in_omp_workers();

}  // namespace vitlens
