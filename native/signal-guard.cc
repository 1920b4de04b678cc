#include "signal-guard.h"

#include <omp.h>
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

namespace vitlens {
namespace {

// Every signal but the synchronous ones (raised by the faulting instruction itself, which must
// not be blocked) and SIGABRT.
sigset_t asynchronous_signals() {
  sigset_t set;
  sigfillset(&set);
  for (int s : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGABRT}) sigdelset(&set, s);
  return set;
}

// An alternate signal stack for this thread, for handlers installed with SA_ONSTACK: the one the
// thread already has, or one made here (kept until the thread exits).
class AltStack {
 public:
  AltStack() {
    stack_t current;
    if (sigaltstack(nullptr, &current) != 0) return;
    if (!(current.ss_flags & SS_DISABLE)) {
      ready_ = true;  // someone else's: leave it
      return;
    }
    long min = sysconf(_SC_MINSIGSTKSZ);
    const size_t size = std::max<size_t>(size_t{1} << 16, min > 0 ? 4 * static_cast<size_t>(min) : 0);
    void* mem = std::malloc(size);
    if (!mem) return;
    stack_t ss{};
    ss.ss_sp = mem;
    ss.ss_size = size;
    if (sigaltstack(&ss, nullptr) != 0) {
      std::free(mem);
      return;
    }
    mem_ = mem;
    ready_ = true;
  }
  ~AltStack() {
    if (!mem_) return;
    stack_t current;
    if (sigaltstack(nullptr, &current) == 0 && current.ss_sp == mem_ && !(current.ss_flags & SS_ONSTACK)) {
      stack_t off{};
      off.ss_flags = SS_DISABLE;
      if (sigaltstack(&off, nullptr) == 0) std::free(mem_);
    }
  }
  bool ready() const { return ready_; }

 private:
  void* mem_ = nullptr;
  bool ready_ = false;
};

}  // namespace

SignalGuard::SignalGuard() {
  static const sigset_t async = asynchronous_signals();
  sigset_t block = async;
  struct sigaction prof;
  if (sigaction(SIGPROF, nullptr, &prof) == 0 && (prof.sa_flags & SA_ONSTACK)) {
    thread_local AltStack alt;
    if (alt.ready()) sigdelset(&block, SIGPROF);  // handled on the alternate stack: safe, and sampled
  }
  pthread_sigmask(SIG_BLOCK, &block, &previous_);
}

SignalGuard::~SignalGuard() { pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }

void block_signals_in_omp_workers() {
  const sigset_t async = asynchronous_signals();
#pragma omp parallel
  {
    if (omp_get_thread_num() != 0) pthread_sigmask(SIG_BLOCK, &async, nullptr);
  }
}

}  // namespace vitlens
