import { describe, expect, it } from 'vitest';
import { MAX_CHUNK_CHARS, MAX_CHUNKS, MAX_DOCUMENT_CHARS, MIN_CHUNK_CHARS } from './document-limits';
import { analyseChunk, endsParagraph, mergeStatistics, splitIntoChunks } from './text-statistics';

const text = 'Queues decouple producers from consumers. Workers scale out!\n\nA queue holds tasks; a worker runs them. Queues and workers';

describe('document statistics', () => {
  it('counts words, sentences, paragraphs and frequent words of a text', () => {
    const stats = analyseChunk(text);
    expect(stats).toMatchObject({ words: 19, sentences: 4, paragraphs: 2 });
    expect(stats.frequencies['queues']).toBe(2);
    expect(stats.frequencies['the']).toBeUndefined();
  });

  it('gives the same report whether a text is analysed whole or in chunks', () => {
    const long = Array.from({ length: 30 }, (_, i) => `Paragraph ${i} has a few words. It is here to be split.`).join('\n\n');
    const chunks = splitIntoChunks(long, 200);
    expect(chunks.length).toBeGreaterThan(5);
    expect(chunks.join('')).toBe(long);
    expect(chunks.every((chunk) => chunk.length <= 200)).toBe(true);
    const analysed = chunks.map((chunk, index) =>
      analyseChunk(chunk, { startsParagraph: endsParagraph(chunks[index - 1]), endsText: index === chunks.length - 1 }),
    );
    expect(mergeStatistics(analysed)).toEqual(mergeStatistics([analyseChunk(long)]));
  });

  it('counts paragraphs and sentences that span chunks once', () => {
    const paragraph = Array.from({ length: 8 }, () => 'This sentence has several words in it and goes on').join(', ') + '.';
    const long = [paragraph, paragraph, `${paragraph} And a last one without a stop`].join('\n\n');
    const chunks = splitIntoChunks(long, 120);
    const analysed = chunks.map((chunk, index) =>
      analyseChunk(chunk, { startsParagraph: endsParagraph(chunks[index - 1]), endsText: index === chunks.length - 1 }),
    );
    expect(mergeStatistics(analysed)).toMatchObject({ paragraphs: 3, sentences: 4 });
  });

  it('never cuts a word unless a single word is longer than a chunk', () => {
    const words = 'alpha beta gamma delta epsilon zeta eta theta iota kappa '.repeat(20);
    for (const chunk of splitIntoChunks(words, 37).slice(0, -1)) expect(chunk.endsWith(' ')).toBe(true);
    expect(splitIntoChunks('x'.repeat(450), 200)).toEqual(['x'.repeat(200), 'x'.repeat(200), 'x'.repeat(50)]);
  });
});

describe('document statistics at the edges', () => {
  const counts = (chunk: string, position?: { startsParagraph: boolean; endsText: boolean }) => {
    const { sentences, paragraphs, words } = analyseChunk(chunk, position);
    return { sentences, paragraphs, words };
  };

  it('counts a run of stops as one sentence end, and stops inside a word as none', () => {
    expect(counts('Wait... what?! Yes.')).toEqual({ sentences: 3, paragraphs: 1, words: 3 });
    expect(counts('Version 3.14 is out')).toEqual({ sentences: 1, paragraphs: 1, words: 3 });
    expect(counts('....x')).toEqual({ sentences: 1, paragraphs: 1, words: 1 });
    expect(counts('.....')).toEqual({ sentences: 1, paragraphs: 1, words: 0 });
  });

  it('counts stops at the end once, and text without one as a sentence only at the end of the document', () => {
    expect(counts('The end...  ')).toMatchObject({ sentences: 1 });
    expect(counts('The end…', { startsParagraph: true, endsText: false })).toMatchObject({ sentences: 1 });
    expect(counts('no stop yet', { startsParagraph: true, endsText: false })).toMatchObject({ sentences: 0 });
    expect(counts('no stop at all')).toMatchObject({ sentences: 1 });
  });

  it('takes white space with two line breaks for a paragraph break, blank lines with spaces too', () => {
    expect(counts('One.\n \nTwo.')).toMatchObject({ paragraphs: 2 });
    expect(counts('One.\n\t\n\n\n  Two.\nStill two.')).toMatchObject({ paragraphs: 2, sentences: 3 });
    expect(counts('One.\nTwo.')).toMatchObject({ paragraphs: 1 });
    expect(counts(' \n\n ')).toMatchObject({ paragraphs: 0, sentences: 0 });
    expect(endsParagraph('One.\n \n')).toBe(true);
    expect(endsParagraph('One.\n')).toBe(false);
    expect(endsParagraph('One.\n\nTwo')).toBe(false);
  });

  it('analyses and splits a megabyte of dots and of newlines, the inputs the old regexes backtracked on', () => {
    const dots = `${'.'.repeat(MAX_DOCUMENT_CHARS - 1)}x`;
    expect(counts(dots)).toEqual({ sentences: 1, paragraphs: 1, words: 1 });
    expect(splitIntoChunks(dots, MAX_CHUNK_CHARS)).toHaveLength(MAX_DOCUMENT_CHARS / MAX_CHUNK_CHARS);
    const newlines = `a${'\n'.repeat(MAX_DOCUMENT_CHARS - 2)}b`;
    expect(counts(newlines)).toEqual({ sentences: 1, paragraphs: 2, words: 2 });
    const chunks = splitIntoChunks(newlines, MIN_CHUNK_CHARS);
    expect(chunks.join('')).toBe(newlines);
    expect(chunks.slice(0, -1).every(endsParagraph)).toBe(true);
  });

  it('never makes more than MAX_CHUNKS chunks, though a megabyte at the smallest chunk size can make more than a megabyte / chunk size', () => {
    // A window whose only space is just past its first tenth, then one whose last space is at its end: short and long chunks alternate.
    const pattern = `${'a'.repeat(MIN_CHUNK_CHARS / 10)} ${'b'.repeat(MIN_CHUNK_CHARS - MIN_CHUNK_CHARS / 10 - 1)} `;
    const text = pattern.repeat(Math.ceil(MAX_DOCUMENT_CHARS / pattern.length)).slice(0, MAX_DOCUMENT_CHARS);
    const chunks = splitIntoChunks(text, MIN_CHUNK_CHARS);
    expect(chunks.length).toBeGreaterThan(1.5 * (MAX_DOCUMENT_CHARS / MIN_CHUNK_CHARS));
    expect(chunks.length).toBeLessThanOrEqual(MAX_CHUNKS);
    expect(chunks.slice(0, -1).every((chunk) => chunk.length > MIN_CHUNK_CHARS / 10)).toBe(true);
  });
});
