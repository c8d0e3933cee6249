import { describe, it, expect } from 'vitest';
import { toSrt, toVtt } from '../../lib/subtitles.js';
import { EMPTY, MIXED, WITH_WORDS } from './fixtures.js';

describe('toSrt', () => {
  it('numbers cues from 1, uses comma milliseconds, skips empty text, handles 100+ hours', () => {
    expect(toSrt(MIXED)).toBe(
      [
        '1',
        '00:00:00,000 --> 00:00:02,500',
        'Hello, world.',
        '',
        '2',
        '01:02:05,500 --> 01:02:07,001',
        '"Quotes" & <tags> -> fine',
        '',
        '3',
        '01:02:10,000 --> 01:02:11,250',
        'line one',
        'line two',
        '',
        '4',
        '100:00:00,250 --> 100:00:02,000',
        'Über 100 Stunden — 日本語 🎉',
        '',
        '',
      ].join('\n'),
    );
  });

  it('writes nothing for no segments', () => {
    expect(toSrt(EMPTY)).toBe('');
  });

  it('writes one cue per word with { words: true }, and the segment when it has no words', () => {
    expect(toSrt(WITH_WORDS, { words: true })).toBe(
      '1\n00:00:00,000 --> 00:00:00,420\nHello\n\n' +
        '2\n00:00:00,420 --> 00:00:01,000\nworld\n\n' +
        '3\n00:00:01,500 --> 00:00:02,000\nBye.\n\n',
    );
  });

  it('ignores words unless asked', () => {
    expect(toSrt(WITH_WORDS)).toBe(
      '1\n00:00:00,000 --> 00:00:01,000\nHello world\n\n2\n00:00:01,500 --> 00:00:02,000\nBye.\n\n',
    );
  });

  it('rounds to the nearest millisecond, carrying into seconds, minutes and hours', () => {
    const srt = toSrt({
      segments: [
        { start: 0.0004, end: 0.0005, text: 'a' },
        { start: 59.9996, end: 3599.9995, text: 'b' },
        { start: 1.0005, end: 1.00049, text: 'c' },
      ],
    });
    expect(srt).toBe(
      '1\n00:00:00,000 --> 00:00:00,001\na\n\n' +
        '2\n00:01:00,000 --> 01:00:00,000\nb\n\n' +
        // end (1.00049 s -> 1.000) is before start (1.0005 s -> 1.001): clamped.
        '3\n00:00:01,001 --> 00:00:01,001\nc\n\n',
    );
  });

  it('rejects times that are negative or not finite, naming the field', () => {
    expect(() => toSrt({ segments: [{ start: -1, end: 1, text: 'x' }] })).toThrow(
      expect.objectContaining({
        name: 'WhisperError',
        code: 'ERR_INVALID_ARG_VALUE',
        message:
          'Expected a number of seconds from 0 to 3600000000 for segments[0].start but received -1',
      }),
    );
    expect(() => toSrt({ segments: [{ start: 0, end: Number.NaN, text: 'x' }] })).toThrow(
      'Expected a number of seconds from 0 to 3600000000 for segments[0].end but received NaN',
    );
  });
});

describe('toVtt', () => {
  it('writes the header, dot milliseconds and escapes &, < and >', () => {
    expect(toVtt(MIXED)).toBe(
      [
        'WEBVTT',
        '',
        '00:00:00.000 --> 00:00:02.500',
        'Hello, world.',
        '',
        '01:02:05.500 --> 01:02:07.001',
        '"Quotes" &amp; &lt;tags&gt; -&gt; fine',
        '',
        '01:02:10.000 --> 01:02:11.250',
        'line one',
        'line two',
        '',
        '100:00:00.250 --> 100:00:02.000',
        'Über 100 Stunden — 日本語 🎉',
        '',
      ].join('\n'),
    );
  });

  it('is just the header for no segments', () => {
    expect(toVtt(EMPTY)).toBe('WEBVTT\n');
  });

  it('writes one cue per word with { words: true }', () => {
    expect(toVtt(WITH_WORDS, { words: true })).toBe(
      'WEBVTT\n\n00:00:00.000 --> 00:00:00.420\nHello\n\n' +
        '00:00:00.420 --> 00:00:01.000\nworld\n\n' +
        '00:00:01.500 --> 00:00:02.000\nBye.\n',
    );
  });

  it('defuses a cue-timing arrow inside the text', () => {
    expect(toVtt({ segments: [{ start: 0, end: 1, text: 'a --> b' }] })).toBe(
      'WEBVTT\n\n00:00:00.000 --> 00:00:01.000\na --&gt; b\n',
    );
  });
});
