// When the native addon cannot be loaded, the error names the real cause and
// what to do (node-gyp-build is replaced here by one that fails).
import { describe, expect, it, vi } from 'vitest';

vi.mock('node-gyp-build', () => ({
  default: () => {
    throw new Error('No native build was found for platform=linux arch=x64 runtime=node');
  },
}));

describe('addon load failure', () => {
  it('throws ERR_ADDON_LOAD with the cause and the fix, from the first call that needs it', async () => {
    const { loadModel, WhisperError, supportedIsas } = await import('../../lib/index.js');
    let error: unknown;
    try {
      supportedIsas();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(WhisperError);
    const e = error as InstanceType<typeof WhisperError>;
    expect(e.code).toBe('ERR_ADDON_LOAD');
    const lines = e.message.split('\n');
    expect(lines[0]).toBe(
      `whisper-native could not load its native addon for ${process.platform}-${process.arch} (Node ${process.version}).`,
    );
    expect(lines[1]).toBe(
      'Cause: No native build was found for platform=linux arch=x64 runtime=node',
    );
    expect(e.message).toContain('npm rebuild whisper-native');
    expect((e.cause as Error).message).toMatch(/^No native build/);
    await expect(loadModel('model.bin')).rejects.toMatchObject({ code: 'ERR_ADDON_LOAD' });
  });
});
