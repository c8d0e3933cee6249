// The CLI's progress reporter on a stand-in stream: a bar redrawn in place on
// a terminal, a few plain lines elsewhere, nothing when quiet.
import { describe, expect, it } from 'vitest';
import { Progress, progressMode } from '../../lib/cli-progress.js';

function stream(isTTY: boolean) {
  const writes: string[] = [];
  return { writes, isTTY, columns: 80, write: (text: string) => writes.push(text) };
}

describe('CLI progress', () => {
  it('picks the bar for a terminal, lines otherwise, nothing when quiet', () => {
    expect(progressMode(stream(true), false)).toBe('bar');
    expect(progressMode(stream(false), false)).toBe('lines');
    expect(progressMode(stream(true), true)).toBe('quiet');
  });

  it('draws a bar in place on a terminal and clears it before a lasting line', () => {
    const s = stream(true);
    const progress = new Progress(s, 'bar');
    progress.start('jfk.wav');
    progress.update(0.5, '11.0 s of audio');
    expect(s.writes).toHaveLength(1);
    const bar = s.writes[0]!;
    expect(bar.startsWith('\r\x1b[2Kjfk.wav ')).toBe(true);
    expect(bar).toMatch(/█+░+ {2}50% {2}11\.0 s of audio$/);
    expect(bar).not.toContain('\n');
    progress.finish('jfk.wav: done');
    expect(s.writes.slice(1)).toEqual(['\r\x1b[2K', 'jfk.wav: done\n']);
  });

  it('prints one plain line per 10 % step, never a carriage return', () => {
    const s = stream(false);
    const progress = new Progress(s, 'lines');
    progress.start('big.bin');
    for (const f of [0, 0.05, 0.12, 0.15, 0.31, 0.999, 1]) progress.update(f, 'x');
    progress.finish('big.bin: done');
    expect(s.writes).toEqual([
      'big.bin: 10% (x)\n',
      'big.bin: 30% (x)\n',
      'big.bin: 90% (x)\n',
      'big.bin: done\n',
    ]);
  });

  it('writes nothing when quiet', () => {
    const s = stream(true);
    const progress = new Progress(s, 'quiet');
    progress.start('a');
    progress.update(0.5);
    progress.finish('done');
    expect(s.writes).toEqual([]);
  });
});
