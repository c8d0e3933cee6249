// What the writers do with input that is not a transcription result's shape:
// every refusal is a WhisperError naming the segment (and word) and field;
// times are checked only by the writers that print them, and refused beyond a
// million hours; and word mode keeps a segment whose words are all blank.
import { describe, it, expect } from 'vitest';
import { WhisperError } from '../../lib/errors.js';
import {
  toCsv,
  toJson,
  toSrt,
  toText,
  toVtt,
  type SubtitleInput,
  type SubtitleSegment,
} from '../../lib/subtitles.js';

/** The writers that print times, each with words on and off. */
const TIMED: [string, (result: SubtitleInput) => string][] = [
  ['toSrt', (r) => toSrt(r)],
  ['toSrt words', (r) => toSrt(r, { words: true })],
  ['toVtt', (r) => toVtt(r)],
  ['toVtt words', (r) => toVtt(r, { words: true })],
  ['toCsv', (r) => toCsv(r)],
  ['toCsv words', (r) => toCsv(r, { words: true })],
  ['toJson', (r) => toJson(r)],
];

function thrown(write: () => unknown): WhisperError {
  let error: unknown;
  try {
    write();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(WhisperError);
  return error as WhisperError;
}

/** A result whose second segment has `bad` merged in (the first is fine). */
function withSecond(bad: Record<string, unknown>): SubtitleInput {
  const second = { start: 1, end: 2, text: ' b', ...bad } as unknown as SubtitleSegment;
  return { segments: [{ start: 0, end: 1, text: ' a' }, second] };
}

describe('subtitle writers: invalid segments', () => {
  it.each(TIMED)('%s: a time of the wrong type is ERR_INVALID_ARG_TYPE', (_, write) => {
    for (const [value, shown] of [
      ['1', "type string ('1')"],
      [undefined, 'undefined'],
      [null, 'null'],
    ] as const) {
      const error = thrown(() => write(withSecond({ start: value })));
      expect(error.code).toBe('ERR_INVALID_ARG_TYPE');
      expect(error.message).toBe(`Expected number for segments[1].start but received ${shown}`);
    }
  });

  it.each(TIMED)(
    '%s: a negative, NaN, infinite or absurd time is ERR_INVALID_ARG_VALUE',
    (_, write) => {
      for (const value of [-1, Number.NaN, Infinity, 1e300, 3_600_000_000.5]) {
        const error = thrown(() => write(withSecond({ end: value })));
        expect(error.code).toBe('ERR_INVALID_ARG_VALUE');
        expect(error.message).toBe(
          `Expected a number of seconds from 0 to 3600000000 for segments[1].end but received ${value}`,
        );
      }
    },
  );

  it('writes a time of a million hours, the largest accepted, as a plain integer', () => {
    expect(toSrt({ segments: [{ start: 3_600_000_000, end: 3_600_000_000, text: 'x' }] })).toBe(
      '1\n1000000:00:00,000 --> 1000000:00:00,000\nx\n\n',
    );
  });

  it.each([...TIMED, ['toText', (r: SubtitleInput) => toText(r)] as const])(
    '%s: a missing or non-string text is ERR_INVALID_ARG_TYPE',
    (_, write) => {
      let error = thrown(() => write(withSecond({ text: undefined })));
      expect(error.code).toBe('ERR_INVALID_ARG_TYPE');
      expect(error.message).toBe('Expected string for segments[1].text but received undefined');
      error = thrown(() => write(withSecond({ text: 42 })));
      expect(error.message).toBe(
        'Expected string for segments[1].text but received type number (42)',
      );
    },
  );

  it('refuses segments, words and results that are not objects and arrays', () => {
    let error = thrown(() => toSrt({ segments: [null] } as unknown as SubtitleInput));
    expect(error.code).toBe('ERR_INVALID_ARG_TYPE');
    expect(error.message).toBe('Expected an object for segments[0] but received null');
    error = thrown(() => toText({} as unknown as SubtitleInput));
    expect(error.message).toBe('Expected an array for result.segments but received undefined');
    error = thrown(() => toJson(undefined as unknown as SubtitleInput));
    expect(error.message).toBe('Expected an object for result but received undefined');
    error = thrown(() => toVtt(withSecond({ words: 'b' }), { words: true }));
    expect(error.message).toBe(
      "Expected an array for segments[1].words but received type string ('b')",
    );
  });

  it('names the word and field of a bad word', () => {
    const words = [
      { word: ' b', start: 1, end: 1.5, probability: 1 },
      { word: ' c', start: 1.5, end: -2, probability: 1 },
    ];
    for (const write of [
      () => toSrt(withSecond({ words }), { words: true }),
      () => toJson(withSecond({ words })),
    ]) {
      const error = thrown(write);
      expect(error.code).toBe('ERR_INVALID_ARG_VALUE');
      expect(error.message).toBe(
        'Expected a number of seconds from 0 to 3600000000 for segments[1].words[1].end but received -2',
      );
    }
    const error = thrown(() =>
      toCsv(withSecond({ words: [{ start: 1, end: 2 }] }), { words: true }),
    );
    expect(error.code).toBe('ERR_INVALID_ARG_TYPE');
    expect(error.message).toBe(
      'Expected string for segments[1].words[0].word but received undefined',
    );
  });
});

describe('subtitle writers: what is checked is what is printed', () => {
  const untimed = withSecond({ start: Number.NaN, end: undefined });

  it('toText prints no times and checks none', () => {
    expect(toText(untimed)).toBe('a\nb\n');
  });

  it('words mode does not check the times of a segment its words replace', () => {
    const result = withSecond({
      start: -5,
      words: [{ word: ' b', start: 1, end: 2, probability: 1 }],
    });
    expect(toSrt(result, { words: true })).toBe(
      '1\n00:00:00,000 --> 00:00:01,000\na\n\n2\n00:00:01,000 --> 00:00:02,000\nb\n\n',
    );
    // Without words the segment's own times are printed, and refused.
    expect(thrown(() => toSrt(result)).code).toBe('ERR_INVALID_ARG_VALUE');
  });

  it('a blank segment is not printed, so its times are not checked', () => {
    const result = withSecond({ text: '   ', start: Number.NaN });
    expect(toSrt(result)).toBe('1\n00:00:00,000 --> 00:00:01,000\na\n\n');
  });
});

describe('subtitle writers: words mode', () => {
  const blankWords: SubtitleInput = {
    segments: [
      {
        start: 0,
        end: 2,
        text: ' [music]',
        words: [
          { word: ' ', start: 0, end: 1, probability: 0.5 },
          { word: '', start: 1, end: 2, probability: 0.5 },
        ],
      },
      {
        start: 2,
        end: 3,
        text: ' next',
        words: [{ word: ' next', start: 2.25, end: 3, probability: 1 }],
      },
    ],
  };

  it('falls back to the segment text when all its words are blank', () => {
    expect(toSrt(blankWords, { words: true })).toBe(
      '1\n00:00:00,000 --> 00:00:02,000\n[music]\n\n2\n00:00:02,250 --> 00:00:03,000\nnext\n\n',
    );
    expect(toVtt(blankWords, { words: true })).toBe(
      'WEBVTT\n\n00:00:00.000 --> 00:00:02.000\n[music]\n\n00:00:02.250 --> 00:00:03.000\nnext\n',
    );
    expect(toCsv(blankWords, { words: true })).toBe(
      'start,end,text\r\n0,2000,[music]\r\n2250,3000,next\r\n',
    );
  });

  it('still drops a segment whose words and text are all blank', () => {
    const blank = { ...blankWords.segments[0]!, text: '  ' };
    expect(toSrt({ segments: [blank] }, { words: true })).toBe('');
  });
});
