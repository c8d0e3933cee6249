// Progress on stderr for the CLI: a bar redrawn in place when stderr is a
// terminal, plain lines otherwise (logs and pipes get a few readable lines
// instead of carriage returns), nothing with --quiet. Results go to stdout, so
// a progress line never mixes into what a script reads.

/** The part of a stream the reporter needs (process.stderr, or a test double). */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export type ProgressMode = 'bar' | 'lines' | 'quiet';

export function progressMode(stream: ProgressStream, quiet: boolean): ProgressMode {
  if (quiet) return 'quiet';
  return stream.isTTY ? 'bar' : 'lines';
}

/** Redraws at most this often: downloads report every chunk. */
const REDRAW_MS = 100;
/** Plain-line mode prints one line per this many percent. */
const LINE_STEP_PERCENT = 10;

export class Progress {
  private label = '';
  private shown = false;
  private lastDraw = 0;
  private lastLinePercent = 0;

  constructor(
    private readonly stream: ProgressStream,
    private readonly mode: ProgressMode,
  ) {}

  /** A status line ("jfk.wav: 11.0 s of audio"): printed in every mode but quiet. */
  note(text: string): void {
    if (this.mode === 'quiet') return;
    this.clear();
    this.stream.write(text + '\n');
  }

  start(label: string): void {
    this.label = label;
    this.lastDraw = 0;
    this.lastLinePercent = 0;
  }

  /** fraction: 0..1; detail: e.g. "12.3 of 74.1 MB". */
  update(fraction: number, detail = ''): void {
    const percent = Math.max(0, Math.min(100, Math.floor(fraction * 100)));
    if (this.mode === 'lines') {
      const step = Math.floor(percent / LINE_STEP_PERCENT) * LINE_STEP_PERCENT;
      if (step <= this.lastLinePercent || step === 100) return; // 100 %: finish() says so
      this.lastLinePercent = step;
      this.stream.write(`${this.label}: ${step}%${detail ? ` (${detail})` : ''}\n`);
    } else if (this.mode === 'bar') {
      const now = Date.now();
      if (now - this.lastDraw < REDRAW_MS && percent < 100) return;
      this.lastDraw = now;
      this.draw(percent, detail);
    }
  }

  /** Ends the current item with a line that stays. */
  finish(text: string): void {
    this.note(text);
  }

  /** Removes the bar (before something else is written to the terminal). */
  clear(): void {
    if (this.mode === 'bar' && this.shown) {
      this.stream.write('\r\x1b[2K');
      this.shown = false;
    }
  }

  private draw(percent: number, detail: string): void {
    const columns = this.stream.columns ?? 80;
    const tail = ` ${String(percent).padStart(3)}%${detail ? `  ${detail}` : ''}`;
    const label = this.label.length > 30 ? '…' + this.label.slice(-29) : this.label;
    const width = Math.max(10, Math.min(40, columns - label.length - tail.length - 4));
    const filled = Math.round((width * percent) / 100);
    const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
    this.stream.write(`\r\x1b[2K${label} ${bar}${tail}`);
    this.shown = true;
  }
}
