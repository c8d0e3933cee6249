import { describe, it, expect } from 'vitest';
import { toCsv, toJson, toText } from '../../lib/subtitles.js';
import { EMPTY, MIXED, WITH_WORDS } from './fixtures.js';

describe('toText', () => {
  it('writes each non-empty segment trimmed on its own line', () => {
    expect(toText(MIXED)).toBe(
      'Hello, world.\n"Quotes" & <tags> -> fine\nline one\nline two\nÜber 100 Stunden — 日本語 🎉\n',
    );
  });

  it('is empty for no segments', () => {
    expect(toText(EMPTY)).toBe('');
  });
});

describe('toCsv', () => {
  it('writes integer milliseconds and RFC 4180 quoting with CRLF line ends', () => {
    expect(toCsv(MIXED)).toBe(
      'start,end,text\r\n' +
        '0,2500,"Hello, world."\r\n' +
        '3725500,3727001,"""Quotes"" & <tags> -> fine"\r\n' +
        '3730000,3731250,"line one\nline two"\r\n' +
        '360000250,360002000,Über 100 Stunden — 日本語 🎉\r\n',
    );
  });

  it('is just the header for no segments', () => {
    expect(toCsv(EMPTY)).toBe('start,end,text\r\n');
  });

  it('writes one row per word with { words: true }', () => {
    expect(toCsv(WITH_WORDS, { words: true })).toBe(
      'start,end,text\r\n0,420,Hello\r\n420,1000,world\r\n1500,2000,Bye.\r\n',
    );
  });
});

describe('toJson', () => {
  it('writes a fixed key order, millisecond-rounded seconds and untrimmed text', () => {
    const input = {
      // Keys deliberately out of order: the output order must not follow them.
      duration: 3730,
      segments: [{ text: ' "Hi" & <b>', end: 3727.0005, start: 3725.5 }],
    };
    expect(toJson(input)).toBe(
      [
        '{',
        '  "text": " \\"Hi\\" & <b>",',
        '  "duration": 3730,',
        '  "segments": [',
        '    {',
        '      "start": 3725.5,',
        '      "end": 3727.001,',
        '      "text": " \\"Hi\\" & <b>"',
        '    }',
        '  ]',
        '}',
        '',
      ].join('\n'),
    );
  });

  it('includes words by default and tokens only when asked', () => {
    const expectedWithWords = `{
  "text": " Hello world Bye.",
  "segments": [
    {
      "start": 0,
      "end": 1,
      "text": " Hello world",
      "words": [
        {
          "word": " Hello",
          "start": 0,
          "end": 0.42,
          "probability": 0.5
        },
        {
          "word": " world",
          "start": 0.42,
          "end": 1,
          "probability": 0.25
        }
      ]
    },
    {
      "start": 1.5,
      "end": 2,
      "text": " Bye."
    }
  ]
}
`;
    expect(toJson(WITH_WORDS)).toBe(expectedWithWords);

    const parsed = JSON.parse(toJson(WITH_WORDS, { tokens: true, words: false })) as {
      segments: Record<string, unknown>[];
    };
    expect(Object.keys(parsed.segments[0]!)).toEqual(['start', 'end', 'text', 'tokens']);
    expect(parsed.segments[0]!.tokens).toEqual([
      { id: 15496, text: ' Hello', p: 0.5 },
      { id: 995, text: ' world', p: 0.25 },
    ]);
    expect(Object.keys(parsed.segments[1]!)).toEqual(['start', 'end', 'text']);
  });

  it('is stable: the same input gives the same bytes', () => {
    expect(toJson(MIXED)).toBe(toJson(structuredClone(MIXED)));
  });

  it('writes an empty result', () => {
    expect(toJson(EMPTY)).toBe('{\n  "text": "",\n  "duration": 0,\n  "segments": []\n}\n');
  });

  it('honours indent', () => {
    expect(toJson(EMPTY, { indent: 0 })).toBe('{"text":"","duration":0,"segments":[]}\n');
  });
});
