// bf16 mixed precision: operand rounding (the emulation's and the native path's conversion),
// what the CPU can run, and the measured FMA peak that the profiler prints beside the products.
#pragma once
#include <cstdint>
#include <string>

namespace vitlens {

// f32 -> bf16 bits, round to nearest even (NaN stays NaN): what oneDNN's reorder and torch do.
inline uint16_t to_bf16_bits(float x) {
  uint32_t u;
  __builtin_memcpy(&u, &x, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);  // quiet NaN
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

// out[i] = x[i] rounded to bf16 and widened back to f32 (the emulation's operands).
void round_bf16(const float* x, float* out, int64_t n);
// bits[i] = bf16 of x[i] (the native bf16 product's operands).
void to_bf16(const float* x, uint16_t* bits, int64_t n);

// The best ISA oneDNN dispatches to here, by oneDNN's name (avx2, avx512_core_amx, ...).
std::string cpu_isa();
// True where oneDNN has bf16 matmul kernels: avx512_core_bf16 or AMX.
bool has_native_bf16();
// fp32 multiply-add throughput of `threads` OpenMP threads, GFLOPS (2 per FMA), from a register-only
// loop at the widest ISA oneDNN dispatches (ONEDNN_MAX_CPU_ISA lowers it, as it lowers oneDNN).
double fma_peak_gflops(int threads);

}  // namespace vitlens
