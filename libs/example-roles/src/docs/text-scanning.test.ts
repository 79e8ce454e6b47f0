import { describe, expect, it } from 'vitest';
import {
  countParagraphBreaks,
  countSentenceEnds,
  endsWithParagraphBreak,
  endsWithSentenceEnd,
  isWhitespace,
  lastParagraphBreakEnd,
  lastSentenceBreakEnd,
  lastWhitespaceEnd,
} from './text-scanning';

/**
 * The regexes the scanners replace, as the reference for what they must give. They backtrack
 * (quadratic or worse), so they only ever see short strings here.
 */
const reference = {
  // eslint-disable-next-line regexp/no-super-linear-move
  countSentenceEnds: (text: string) => text.match(/[.!?…]+(?=\s|$)/g)?.length ?? 0,
  endsWithSentenceEnd: (text: string) => /[.!?…]$/.test(text),
  countParagraphBreaks: (text: string) => text.split(/\n\s*\n/).length - 1,
  // eslint-disable-next-line regexp/no-super-linear-backtracking, regexp/no-super-linear-move
  endsWithParagraphBreak: (text: string) => /\n\s*\n\s*$/.test(text),
  lastParagraphBreakEnd: (text: string) => lastMatchEnd(text, /\n\s*\n/g),
  lastSentenceBreakEnd: (text: string) => lastMatchEnd(text, /[.!?…]\s/g),
  lastWhitespaceEnd: (text: string) => lastMatchEnd(text, /\s/g),
};
const scanners = {
  countSentenceEnds,
  endsWithSentenceEnd,
  countParagraphBreaks,
  endsWithParagraphBreak,
  lastParagraphBreakEnd,
  lastSentenceBreakEnd,
  lastWhitespaceEnd,
};

function lastMatchEnd(text: string, pattern: RegExp): number | undefined {
  let end: number | undefined;
  for (const match of text.matchAll(pattern)) end = match.index + match[0].length;
  return end;
}

/** Every string of up to `maxLength` characters of `alphabet`, shortest first. */
function allStrings(alphabet: readonly string[], maxLength: number): string[] {
  const strings = [''];
  for (let at = 0; at < strings.length; at++) {
    if (strings[at]!.length < maxLength) for (const char of alphabet) strings.push(strings[at]! + char);
  }
  return strings;
}

const MEGABYTE = 1_000_000;

describe('the text scanners', () => {
  it('take for white space exactly what \\s does, on every UTF-16 code unit', () => {
    const disagreeing: string[] = [];
    for (let code = 0; code <= 0xffff; code++) {
      if (isWhitespace(code) !== /\s/.test(String.fromCharCode(code))) disagreeing.push(code.toString(16));
    }
    expect(disagreeing).toEqual([]);
  });

  it('give what the regexes gave on every string of up to six characters of stops, letters, spaces and line breaks', () => {
    // Seven characters: two that end sentences, a letter, and four kinds of white space (CR too:
    // docs.ingest normalises CRLF, but the scanners must not depend on it).
    const alphabet = ['.', '…', 'a', ' ', '\n', '\r', '\u00a0'];
    let compared = 0;
    for (const text of allStrings(alphabet, 6)) {
      for (const [name, scan] of Object.entries(scanners)) {
        const expected = reference[name as keyof typeof reference](text);
        if (scan(text) !== expected) expect({ name, text, got: scan(text) }).toEqual({ name, text, got: expected });
      }
      compared++;
    }
    expect(compared).toBe((7 ** 7 - 1) / 6);
  });

  it('give what the regexes gave on longer random texts', () => {
    let seed = 11;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2_147_483_648);
    const pieces = ['word', 'Two', '.', '...', '!', '?', '…', ' ', '  ', '\n', '\n\n', '\n \n', '\t', '3.14', 'x.y'];
    for (let round = 0; round < 500; round++) {
      const text = Array.from({ length: 5 + (next() % 120) }, () => pieces[next() % pieces.length]!).join('');
      for (const [name, scan] of Object.entries(scanners)) {
        expect({ name, text, got: scan(text) }).toEqual({ name, text, got: reference[name as keyof typeof reference](text) });
      }
    }
  });

  it('count sentence ends at runs of stops followed by white space or the end, and nowhere else', () => {
    expect(countSentenceEnds('Wait... what?! Yes.')).toBe(3);
    expect(countSentenceEnds('Version 3.14 is out')).toBe(0);
    expect(countSentenceEnds('....x')).toBe(0);
    expect(countSentenceEnds('The end…')).toBe(1);
    expect(countSentenceEnds('.')).toBe(1);
    expect(endsWithSentenceEnd('The end...')).toBe(true);
    expect(endsWithSentenceEnd('no stop')).toBe(false);
    expect(endsWithSentenceEnd('')).toBe(false);
  });

  it('find paragraph breaks in white space with two line breaks, however it is made', () => {
    expect(countParagraphBreaks('a\n \nb')).toBe(1);
    expect(countParagraphBreaks('a\n\n\n\n\nb')).toBe(1);
    expect(countParagraphBreaks('a\nb\n\t\u00a0\n c')).toBe(1);
    expect(countParagraphBreaks('a\nb')).toBe(0);
    expect(endsWithParagraphBreak('text\n \n')).toBe(true);
    expect(endsWithParagraphBreak('\n\n')).toBe(true);
    expect(endsWithParagraphBreak('text\n')).toBe(false);
    expect(endsWithParagraphBreak('text\n\n x')).toBe(false);
    expect(endsWithParagraphBreak('')).toBe(false);
    expect(lastParagraphBreakEnd('a\n\nb\n \n c')).toBe(7);
    expect(lastSentenceBreakEnd('One. Two! Three')).toBe(10);
    expect(lastWhitespaceEnd('one two')).toBe(4);
  });

  it('scan a megabyte of the inputs that made the regexes backtrack, giving the same answers', () => {
    const dots = '.'.repeat(MEGABYTE);
    const dotsThenLetter = `${'.'.repeat(MEGABYTE - 1)}x`;
    const newlines = '\n'.repeat(MEGABYTE);
    const newlinesThenLetter = `${'\n'.repeat(MEGABYTE - 1)}x`;
    const spacedNewlines = '\n '.repeat(MEGABYTE / 2);
    expect(countSentenceEnds(dots)).toBe(1);
    expect(countSentenceEnds(dotsThenLetter)).toBe(0);
    expect(lastSentenceBreakEnd(dotsThenLetter)).toBeUndefined();
    expect(endsWithParagraphBreak(newlines)).toBe(true);
    expect(endsWithParagraphBreak(newlinesThenLetter)).toBe(false);
    expect(endsWithParagraphBreak(spacedNewlines)).toBe(true);
    expect(countParagraphBreaks(`a${newlines}b`)).toBe(1);
    expect(countParagraphBreaks(`a${spacedNewlines}b`)).toBe(1);
    expect(lastParagraphBreakEnd(newlinesThenLetter)).toBe(MEGABYTE - 1);
    expect(lastWhitespaceEnd(dotsThenLetter)).toBeUndefined();
  });
});
