import { describe, expect, it } from 'vitest';
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
