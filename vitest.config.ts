import { defineConfig } from 'vitest/config';

// .ci/run sets WN_VITEST_JSON to collect the counts for its summary line.
const jsonReport = process.env.WN_VITEST_JSON;

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One file at a time: the machine has 2 cores, each transcription already
    // uses both, and the event-loop and abort tests measure timing.
    fileParallelism: false,
    // it.concurrent tests in a file: two transcriptions at a time.
    maxConcurrency: 2,
    testTimeout: 180_000,
    hookTimeout: 120_000,
    reporters: jsonReport ? ['default', ['json', { outputFile: jsonReport }]] : ['default'],
  },
});
