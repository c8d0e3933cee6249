// CPU kernel paths (ISAs). A model picks its path when it loads: the fastest
// this CPU supports, or the one named by the environment variable
// WHISPER_NATIVE_ISA (generic | avx2 | avx512 | neon), which tests use to check
// every path on one machine.
import { binding } from './binding.js';
import { callNative } from './errors.js';

/** The kernel paths this CPU and build can run, e.g. ['generic', 'avx2', 'avx512']. */
export function supportedIsas(): string[] {
  return callNative(() => binding().supportedIsas());
}
