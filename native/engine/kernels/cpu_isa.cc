// Which instruction-set path this CPU can run: cpuid for the instructions and
// xgetbv for the operating system's support of the wider register state (a CPU
// can report AVX-512 while the OS does not save zmm registers). Detected once.
//
// What it is not: a general CPU feature library; it answers for the paths we
// build (generic, avx2 = AVX2+FMA+F16C, avx512 = AVX-512 F/BW/VL/DQ, and
// neon = AArch64 Advanced SIMD, which every arm64 CPU has, so an arm64 build
// supports it without asking the CPU).
#include <cstdlib>
#include <cstring>
#include <string>

#include "engine/core/error.h"
#include "engine/kernels/kernels_internal.h"

#if defined(WN_KERNELS_X86)
#if defined(_MSC_VER)
#include <intrin.h>
#else
#include <cpuid.h>
#endif
#endif

namespace wn {
namespace kernels {

namespace {

struct CpuFeatures {
  bool avx2_fma_f16c = false;
  bool avx512_f_bw_vl_dq = false;
};

#if defined(WN_KERNELS_X86)
void cpuid(unsigned leaf, unsigned subleaf, unsigned regs[4]) {
#if defined(_MSC_VER)
  int r[4];
  __cpuidex(r, (int)leaf, (int)subleaf);
  for (int i = 0; i < 4; ++i) regs[i] = (unsigned)r[i];
#else
  __cpuid_count(leaf, subleaf, regs[0], regs[1], regs[2], regs[3]);
#endif
}

// XCR0: which register states the OS saves on context switch.
unsigned long long read_xcr0() {
#if defined(_MSC_VER)
  return _xgetbv(0);
#else
  unsigned eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return ((unsigned long long)edx << 32) | eax;
#endif
}

CpuFeatures detect() {
  CpuFeatures f;
  unsigned r[4];
  cpuid(0, 0, r);
  const unsigned max_leaf = r[0];
  if (max_leaf < 7) return f;
  cpuid(1, 0, r);
  const unsigned ecx1 = r[2];
  const bool fma = ecx1 & (1u << 12);
  const bool osxsave = ecx1 & (1u << 27);
  const bool avx = ecx1 & (1u << 28);
  const bool f16c = ecx1 & (1u << 29);
  if (!osxsave || !avx) return f;
  const unsigned long long xcr0 = read_xcr0();
  const bool os_ymm = (xcr0 & 0x6) == 0x6;    // SSE + AVX state
  const bool os_zmm = (xcr0 & 0xe6) == 0xe6;  // + opmask, ZMM_Hi256, Hi16_ZMM
  cpuid(7, 0, r);
  const unsigned ebx7 = r[1];
  const bool avx2 = ebx7 & (1u << 5);
  const bool avx512f = ebx7 & (1u << 16);
  const bool avx512dq = ebx7 & (1u << 17);
  const bool avx512bw = ebx7 & (1u << 30);
  const bool avx512vl = ebx7 & (1u << 31);
  f.avx2_fma_f16c = os_ymm && avx2 && fma && f16c;
  f.avx512_f_bw_vl_dq = f.avx2_fma_f16c && os_zmm && avx512f && avx512dq && avx512bw && avx512vl;
  return f;
}
#else
CpuFeatures detect() {
  return CpuFeatures();
}
#endif

const CpuFeatures& features() {
  static const CpuFeatures f = detect();
  return f;
}

}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::kGeneric:
      return "generic";
    case Isa::kAvx2:
      return "avx2";
    case Isa::kAvx512:
      return "avx512";
    case Isa::kNeon:
      return "neon";
  }
  return "unknown";
}

bool isa_supported(Isa isa) {
  switch (isa) {
    case Isa::kGeneric:
      return true;
    case Isa::kAvx2:
      return features().avx2_fma_f16c;
    case Isa::kAvx512:
      return features().avx512_f_bw_vl_dq;
    case Isa::kNeon:
#if defined(WN_KERNELS_ARM64)
      return true;  // Advanced SIMD is part of the AArch64 baseline
#else
      return false;  // an x86 build has no NEON kernels
#endif
  }
  return false;
}

Isa best_isa() {
  static const Isa best = [] {
    for (Isa isa : {Isa::kAvx512, Isa::kAvx2, Isa::kNeon}) {
      if (isa_supported(isa)) return isa;
    }
    return Isa::kGeneric;
  }();
  return best;
}

Isa selected_isa() {
  const char* env = std::getenv("WHISPER_NATIVE_ISA");
  if (env == nullptr || env[0] == '\0') return best_isa();
  for (Isa isa : {Isa::kGeneric, Isa::kAvx2, Isa::kAvx512, Isa::kNeon}) {
    if (std::strcmp(env, isa_name(isa)) != 0) continue;
    if (!isa_supported(isa)) {
      throw Error(
          ErrorCode::kInvalidArgument,
          std::string("WHISPER_NATIVE_ISA=") + env +
              ": this CPU or build cannot run that path (best here: " + isa_name(best_isa()) + ")");
    }
    return isa;
  }
  throw Error(ErrorCode::kInvalidArgument, std::string("WHISPER_NATIVE_ISA=") + env +
                                               ": expected generic, avx2, avx512 or neon");
}

const IsaKernels& kernels_for(Isa isa) {
  if (!isa_supported(isa)) {
    throw Error(ErrorCode::kInvalidArgument,
                std::string("kernel path ") + isa_name(isa) + " is not supported on this CPU");
  }
  switch (isa) {
#if defined(WN_KERNELS_X86)
    case Isa::kAvx2:
      return avx2_kernels();
    case Isa::kAvx512:
      return avx512_kernels();
#endif
#if defined(WN_KERNELS_ARM64)
    case Isa::kNeon:
      return neon_kernels();
#endif
    default:
      return generic_kernels();
  }
}

}  // namespace kernels
}  // namespace wn
