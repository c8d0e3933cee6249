// Transcription results the writer tests share: hour-long and 100-hour
// timestamps, text that needs escaping or quoting, unicode, an empty segment
// and a multi-line one. The expected outputs live beside each test as literal
// strings, worked out by hand from these values.
import type { SubtitleInput } from '../../lib/subtitles.js';

export const MIXED: SubtitleInput = {
  text: ' Hello, world. "Quotes" & <tags> -> fine',
  duration: 360005,
  segments: [
    { start: 0, end: 2.5, text: ' Hello, world.' },
    // 3725.5 s = 1 h 2 min 5.5 s; 3727.0005 s rounds half-up to 3727.001 s.
    { start: 3725.5, end: 3727.0005, text: ' "Quotes" & <tags> -> fine' },
    // Nothing but spaces: no cue.
    { start: 3728, end: 3729, text: '   ' },
    // A blank line inside would end an SRT/VTT cue early.
    { start: 3730, end: 3731.25, text: ' line one\n\n  line two ' },
    // 360000.25 s = 100 h and 0.25 s.
    { start: 360000.25, end: 360002, text: ' Über 100 Stunden — 日本語 🎉' },
  ],
};

export const WITH_WORDS: SubtitleInput = {
  segments: [
    {
      start: 0,
      end: 1,
      text: ' Hello world',
      tokens: [
        { id: 15496, text: ' Hello', p: 0.5 },
        { id: 995, text: ' world', p: 0.25 },
      ],
      words: [
        { word: ' Hello', start: 0, end: 0.42, probability: 0.5 },
        // 0.9999 s rounds to 1.000 s.
        { word: ' world', start: 0.42, end: 0.9999, probability: 0.25 },
      ],
    },
    // No words: written as one cue even in word mode.
    { start: 1.5, end: 2, text: ' Bye.' },
  ],
};

export const EMPTY: SubtitleInput = { segments: [], text: '', duration: 0 };
