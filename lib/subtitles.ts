// Subtitle and data writers: turn a transcription result into SRT, WebVTT,
// JSON, plain text or CSV. Pure functions over a structural input type, so
// they accept a TranscriptionResult or any object of the same shape; they do
// no I/O and never touch the engine.
//
// Shared conventions, documented once here:
// - Times are seconds in the input and are rounded half-up to whole
//   milliseconds (after snapping to microseconds, so 1.0005 s reads as
//   1.001 s, as a person would round it, despite binary floating point).
//   Rounding is monotonic, so a cue never ends before it starts; an input
//   whose end is before its start is clamped to its start.
// - Segment (or word) text is trimmed; cues whose text is empty after
//   trimming are left out, and SRT cue numbers count the cues written.
// - `{ words: true }` writes one cue (or CSV row) per word for segments that
//   carry `words`; segments without words still get one cue each. One cue per
//   word was chosen over WebVTT karaoke timestamps because every player and
//   both subtitle formats understand it.

/** A word with its own timing, as word-level timestamps produce it. */
export interface SubtitleWord {
  word: string;
  /** Seconds. */
  start: number;
  /** Seconds. */
  end: number;
  probability: number;
}

export interface SubtitleToken {
  id: number;
  text: string;
  p: number;
}

/** One segment as the writers read it (a `Segment` fits). */
export interface SubtitleSegment {
  /** Seconds from the start of the audio. */
  start: number;
  /** Seconds from the start of the audio. */
  end: number;
  text: string;
  tokens?: readonly SubtitleToken[];
  words?: readonly SubtitleWord[];
}

/** What the writers read: the shape of a transcription result. */
export interface SubtitleInput {
  /** In order; each becomes one cue (or one per word). */
  segments: readonly SubtitleSegment[];
  /** All text; when absent, toJson joins the segments' text. */
  text?: string;
  /** Seconds of audio; written by toJson when present. */
  duration?: number;
}

export interface CueOptions {
  /**
   * One cue per word for segments that carry `words`, instead of one cue per
   * segment. Default: `false`.
   */
  words?: boolean;
}

export interface JsonOptions {
  /** Include each segment's `tokens` when present. Default: `false`. */
  tokens?: boolean;
  /** Include each segment's `words` when present. Default: `true`. */
  words?: boolean;
  /** Spaces of indentation. Default: `2`. */
  indent?: number;
}

/** One timed piece of text, in milliseconds, ready to print. */
interface Cue {
  startMs: number;
  endMs: number;
  text: string;
}

/**
 * Seconds to whole milliseconds, rounded half-up. Snapping to microseconds
 * first removes binary noise (1.0005 * 1000 is 1000.4999...), so a value that
 * is a half millisecond in decimal rounds up as its decimal reading says.
 */
function secondsToMs(seconds: number, what: string): number {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) {
    throw new RangeError(
      `Expected a finite number of seconds >= 0 for ${what} but received ${String(seconds)}`,
    );
  }
  return Math.round(Math.round(seconds * 1e6) / 1000);
}

/** `H…H:MM:SS<sep>mmm`, hours at least two digits and as many more as needed. */
function formatTimestamp(ms: number, separator: ',' | '.'): string {
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.floor(ms / 60_000) % 60;
  const seconds = Math.floor(ms / 1000) % 60;
  const millis = ms % 1000;
  const pad = (value: number, width: number): string => String(value).padStart(width, '0');
  return `${pad(hours, 2)}:${pad(minutes, 2)}:${pad(seconds, 2)}${separator}${pad(millis, 3)}`;
}

/** Trimmed lines with the blank ones dropped, since a blank line ends a cue. */
function cueText(text: string): string {
  return text
    .split(/\r\n|\r|\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0)
    .join('\n');
}

function timedCue(start: number, end: number, text: string, what: string): Cue {
  const startMs = secondsToMs(start, `${what}.start`);
  const endMs = Math.max(secondsToMs(end, `${what}.end`), startMs);
  return { startMs, endMs, text: cueText(text) };
}

/** The cues to write, in input order, empty ones left out. */
function collectCues(result: SubtitleInput, options: CueOptions = {}): Cue[] {
  const cues: Cue[] = [];
  result.segments.forEach((segment, i) => {
    const words = options.words === true ? segment.words : undefined;
    if (words !== undefined && words.length > 0) {
      words.forEach((word, j) => {
        cues.push(timedCue(word.start, word.end, word.word, `segments[${i}].words[${j}]`));
      });
    } else {
      cues.push(timedCue(segment.start, segment.end, segment.text, `segments[${i}]`));
    }
  });
  return cues.filter((cue) => cue.text.length > 0);
}

/**
 * SubRip: numbered cues from 1, `HH:MM:SS,mmm --> HH:MM:SS,mmm`, the text,
 * and a blank line after each cue. No cues gives the empty string.
 */
export function toSrt(result: SubtitleInput, options?: CueOptions): string {
  return collectCues(result, options)
    .map((cue, i) => {
      const times = `${formatTimestamp(cue.startMs, ',')} --> ${formatTimestamp(cue.endMs, ',')}`;
      return `${i + 1}\n${times}\n${cue.text}\n\n`;
    })
    .join('');
}

/** WebVTT cue text: `&`, `<` and `>` as character references (this also defuses `-->`). */
function escapeVttText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * WebVTT: the `WEBVTT` header line, then per cue a blank line,
 * `HH:MM:SS.mmm --> HH:MM:SS.mmm` and the escaped text.
 */
export function toVtt(result: SubtitleInput, options?: CueOptions): string {
  const cues = collectCues(result, options).map((cue) => {
    const times = `${formatTimestamp(cue.startMs, '.')} --> ${formatTimestamp(cue.endMs, '.')}`;
    return `\n${times}\n${escapeVttText(cue.text)}\n`;
  });
  return `WEBVTT\n${cues.join('')}`;
}

/** Plain text: each segment's trimmed text on its own line; empty segments left out. */
export function toText(result: SubtitleInput): string {
  return collectCues(result)
    .map((cue) => `${cue.text}\n`)
    .join('');
}

/** RFC 4180 field: quoted when it holds a comma, a quote or a line break; quotes doubled. */
function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/**
 * CSV per RFC 4180: a `start,end,text` header, then one row per cue (per word
 * with `{ words: true }`). Times are integer milliseconds, as whisper.cpp's
 * CSV writes them. Lines end with CRLF, as the RFC specifies.
 */
export function toCsv(result: SubtitleInput, options?: CueOptions): string {
  const rows = collectCues(result, options).map(
    (cue) => `${cue.startMs},${cue.endMs},${csvField(cue.text)}\r\n`,
  );
  return `start,end,text\r\n${rows.join('')}`;
}

/** Seconds rounded to the millisecond, matching the other writers. */
function jsonSeconds(seconds: number, what: string): number {
  return secondsToMs(seconds, what) / 1000;
}

/**
 * JSON with a fixed key order (`text`, `duration`, `segments`; per segment
 * `start`, `end`, `text`, then `words` and `tokens` when asked for), times in
 * seconds rounded to the millisecond, pretty-printed, ending with a newline.
 * Segment text is kept as transcribed (not trimmed).
 */
export function toJson(result: SubtitleInput, options: JsonOptions = {}): string {
  const withWords = options.words ?? true;
  const withTokens = options.tokens ?? false;
  const segments = result.segments.map((segment, i) => {
    const what = `segments[${i}]`;
    const start = jsonSeconds(segment.start, `${what}.start`);
    const out: Record<string, unknown> = {
      start,
      end: Math.max(jsonSeconds(segment.end, `${what}.end`), start),
      text: segment.text,
    };
    if (withWords && segment.words !== undefined) {
      out.words = segment.words.map((word, j) => {
        const wordStart = jsonSeconds(word.start, `${what}.words[${j}].start`);
        const wordEnd = Math.max(jsonSeconds(word.end, `${what}.words[${j}].end`), wordStart);
        return {
          word: word.word,
          start: wordStart,
          end: wordEnd,
          probability: word.probability,
        };
      });
    }
    if (withTokens && segment.tokens !== undefined) {
      out.tokens = segment.tokens.map((token) => ({
        id: token.id,
        text: token.text,
        p: token.p,
      }));
    }
    return out;
  });
  const document: Record<string, unknown> = {
    text: result.text ?? result.segments.map((segment) => segment.text).join(''),
  };
  if (result.duration !== undefined) document.duration = result.duration;
  document.segments = segments;
  return `${JSON.stringify(document, null, options.indent ?? 2)}\n`;
}
