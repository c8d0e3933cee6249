// A temporary folder for one test file's inputs: made before its tests run,
// removed with everything in it after they end.
import { afterAll, beforeAll } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TempDir {
  /** The folder (valid once the file's tests run). */
  readonly dir: string;
  /** Writes `bytes` to `name` in the folder; returns its path. */
  write(name: string, bytes: Uint8Array): string;
}

export function useTempDir(prefix: string): TempDir {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), prefix));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    get dir() {
      return dir;
    },
    write(name, bytes) {
      const path = join(dir, name);
      writeFileSync(path, bytes);
      return path;
    },
  };
}
