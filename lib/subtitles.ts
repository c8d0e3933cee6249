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
// - A time must be a finite number of seconds from 0 to MAX_SECONDS, and a
//   text a string; anything else is a WhisperError naming the segment (and
//   word) and the field. Only what a writer prints is checked: toText prints
//   no times, so it checks none.
// - Segment (or word) text is trimmed; cues whose text is empty after
//   trimming are left out, and SRT cue numbers count the cues written.
// - `{ words: true }` writes one cue (or CSV row) per word for segments that
//   carry `words`; segments without words, or whose words are all blank
//   while their text is not, still get one cue each (their text would
//   otherwise vanish from the subtitles). One cue per word was chosen over
//   WebVTT karaoke timestamps because every player and both subtitle formats
//   understand it.
import { typeError, valueError } from './validate.js';

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
 * The latest time written: a million hours (114 years), beyond any audio, yet
 * small enough that the hours field stays a plain integer (1e300 s printed
 * its hours as 2.7777777777777777e+296) and the milliseconds stay exact.
 */
const MAX_SECONDS = 3_600_000_000;

/**
 * Seconds to whole milliseconds, rounded half-up. Snapping to microseconds
 * first removes binary noise (1.0005 * 1000 is 1000.4999...), so a value that
 * is a half millisecond in decimal rounds up as its decimal reading says.
 */
function secondsToMs(seconds: unknown, what: string): number {
  if (typeof seconds !== 'number') throw typeError('number', what, seconds);
  if (!(seconds >= 0 && seconds <= MAX_SECONDS)) {
    throw valueError(`a number of seconds from 0 to ${MAX_SECONDS}`, what, String(seconds));
  }
  return Math.round(Math.round(seconds * 1e6) / 1000);
}

/** A segment or word as an object, before its fields are read. */
function record(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null) throw typeError('an object', what, value);
  return value as Record<string, unknown>;
}

function stringOf(value: unknown, what: string): string {
  if (typeof value !== 'string') throw typeError('string', what, value);
  return value;
}

function arrayOf(value: unknown, what: string): readonly unknown[] {
  if (!Array.isArray(value)) throw typeError('an array', what, value);
  return value as readonly unknown[];
}

/** result.segments, checked to be an array (its elements are checked as they are read). */
function segmentsOf(result: SubtitleInput): readonly unknown[] {
  return arrayOf(record(result, 'result').segments, 'result.segments');
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

/**
 * The cue of a segment or word (`textField` names its text), empty text left
 * out; the times are checked only when it is printed.
 */
function timedCue(item: Record<string, unknown>, textField: string, what: string): Cue[] {
  const cue = cueText(stringOf(item[textField], `${what}.${textField}`));
  if (cue.length === 0) return [];
  const startMs = secondsToMs(item.start, `${what}.start`);
  const endMs = Math.max(secondsToMs(item.end, `${what}.end`), startMs);
  return [{ startMs, endMs, text: cue }];
}

/** The cues to write, in input order, empty ones left out. */
function collectCues(result: SubtitleInput, options: CueOptions = {}): Cue[] {
  return segmentsOf(result).flatMap((value, i) => {
    const what = `segments[${i}]`;
    const segment = record(value, what);
    const words = options.words === true ? segment.words : undefined;
    if (words !== undefined) {
      const cues = arrayOf(words, `${what}.words`).flatMap((word, j) => {
        const where = `${what}.words[${j}]`;
        return timedCue(record(word, where), 'word', where);
      });
      // Words that are all blank (or none) leave the segment's own text.
      if (cues.length > 0) return cues;
    }
    return timedCue(segment, 'text', what);
  });
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

/**
 * Plain text: each segment's trimmed text on its own line; empty segments left
 * out. It prints no times, so it does not check them.
 */
export function toText(result: SubtitleInput): string {
  return segmentsOf(result)
    .map((value, i) => {
      const what = `segments[${i}]`;
      return cueText(stringOf(record(value, what).text, `${what}.text`));
    })
    .filter((line) => line.length > 0)
    .map((line) => `${line}\n`)
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
function jsonSeconds(seconds: unknown, what: string): number {
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
  const texts: string[] = [];
  const segments = segmentsOf(result).map((value, i) => {
    const what = `segments[${i}]`;
    const segment = record(value, what);
    const start = jsonSeconds(segment.start, `${what}.start`);
    const end = Math.max(jsonSeconds(segment.end, `${what}.end`), start);
    const text = stringOf(segment.text, `${what}.text`);
    texts.push(text);
    const out: Record<string, unknown> = { start, end, text };
    if (withWords && segment.words !== undefined) {
      out.words = arrayOf(segment.words, `${what}.words`).map((value, j) => {
        const where = `${what}.words[${j}]`;
        const word = record(value, where);
        const wordStart = jsonSeconds(word.start, `${where}.start`);
        const wordEnd = Math.max(jsonSeconds(word.end, `${where}.end`), wordStart);
        return {
          word: stringOf(word.word, `${where}.word`),
          start: wordStart,
          end: wordEnd,
          probability: word.probability,
        };
      });
    }
    if (withTokens && segment.tokens !== undefined) {
      out.tokens = arrayOf(segment.tokens, `${what}.tokens`).map((value, j) => {
        const token = record(value, `${what}.tokens[${j}]`);
        return { id: token.id, text: token.text, p: token.p };
      });
    }
    return out;
  });
  const document: Record<string, unknown> = {
    text: result.text ?? texts.join(''),
  };
  if (result.duration !== undefined) document.duration = result.duration;
  document.segments = segments;
  return `${JSON.stringify(document, null, options.indent ?? 2)}\n`;
}
