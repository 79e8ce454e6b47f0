import { z } from 'zod';
import { MIN_CUT_DIVISOR } from './document-limits';
import {
  countParagraphBreaks,
  countSentenceEnds,
  endsWithParagraphBreak,
  endsWithSentenceEnd,
  lastParagraphBreakEnd,
  lastSentenceBreakEnd,
  lastWhitespaceEnd,
} from './text-scanning';

/** Counts that add up across chunks, so a document's statistics are the sum of its chunks'. */
export const ChunkStatisticsSchema = z.object({
  characters: z.number().int().min(0),
  words: z.number().int().min(0),
  sentences: z.number().int().min(0),
  paragraphs: z.number().int().min(0),
  letters: z.number().int().min(0),
  /** word → occurrences, stop words left out. */
  frequencies: z.record(z.string(), z.number().int().min(1)),
});
export type ChunkStatistics = z.infer<typeof ChunkStatisticsSchema>;

export const DocumentReportSchema = z.object({
  characters: z.number().int(),
  words: z.number().int(),
  sentences: z.number().int(),
  paragraphs: z.number().int(),
  uniqueWords: z.number().int(),
  averageWordLength: z.number(),
  averageSentenceWords: z.number(),
  readingTimeMinutes: z.number(),
  topWords: z.array(z.object({ word: z.string(), count: z.number().int() })),
});
export type DocumentReport = z.infer<typeof DocumentReportSchema>;

const STOP_WORDS = new Set(
  'a an and are as at be but by for from had has have he her his i if in into is it its of on or our she so that the their them then there these they this to was we were what when which who will with you your not no do does did been than too very can all any'.split(
    ' ',
  ),
);
// Linear: one greedy quantifier that may stop anywhere, so a match never backtracks.
const WORD = /\p{L}[\p{L}\p{N}'’-]*/gu;
/** Words per minute used for the reading-time estimate. */
const READING_WPM = 230;

/** Where a chunk sits in its document, so counts that span chunks are made once. */
export interface ChunkPosition {
  /** False when the chunk continues a paragraph begun in the chunk before. */
  startsParagraph: boolean;
  /** True for the document's last chunk: trailing text without a full stop is a sentence only there. */
  endsText: boolean;
}

export function analyseChunk(text: string, position: ChunkPosition = { startsParagraph: true, endsText: true }): ChunkStatistics {
  const frequencies: Record<string, number> = Object.create(null);
  let words = 0;
  let letters = 0;
  for (const match of text.matchAll(WORD)) {
    words++;
    letters += match[0].length;
    const word = match[0].toLowerCase();
    if (!STOP_WORDS.has(word)) frequencies[word] = (frequencies[word] ?? 0) + 1;
  }
  const trimmed = text.trim();
  const sentenceEnds = countSentenceEnds(trimmed);
  // A sentence is counted where it ends; text after the document's last full stop is one too.
  const unfinished = position.endsText && trimmed !== '' && !endsWithSentenceEnd(trimmed) ? 1 : 0;
  // Paragraphs are counted where they start, so one spanning chunks is counted once.
  const pieces = trimmed === '' ? 0 : countParagraphBreaks(trimmed) + 1;
  const paragraphs = Math.max(0, pieces - (position.startsParagraph ? 0 : 1));
  return { characters: text.length, words, sentences: sentenceEnds + unfinished, paragraphs, letters, frequencies: { ...frequencies } };
}

/** Whether the chunk after `previous` begins a new paragraph (the split prefers paragraph breaks). */
export function endsParagraph(previous: string | undefined): boolean {
  return previous === undefined || endsWithParagraphBreak(previous);
}

export function mergeStatistics(chunks: readonly ChunkStatistics[], topN = 10): DocumentReport {
  const total = { characters: 0, words: 0, sentences: 0, paragraphs: 0, letters: 0 };
  const frequencies = new Map<string, number>();
  for (const chunk of chunks) {
    total.characters += chunk.characters;
    total.words += chunk.words;
    total.sentences += chunk.sentences;
    total.paragraphs += chunk.paragraphs;
    total.letters += chunk.letters;
    for (const [word, count] of Object.entries(chunk.frequencies)) frequencies.set(word, (frequencies.get(word) ?? 0) + count);
  }
  const topWords = [...frequencies.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, topN)
    .map(([word, count]) => ({ word, count }));
  const round = (value: number) => Math.round(value * 100) / 100;
  return {
    characters: total.characters,
    words: total.words,
    sentences: total.sentences,
    paragraphs: total.paragraphs,
    uniqueWords: frequencies.size,
    averageWordLength: total.words === 0 ? 0 : round(total.letters / total.words),
    averageSentenceWords: total.sentences === 0 ? 0 : round(total.words / total.sentences),
    readingTimeMinutes: round(total.words / READING_WPM),
    topWords,
  };
}

/**
 * Splits text into chunks of at most `maxChars`, preferring paragraph breaks, then sentence
 * ends, then spaces, so no word is cut in two unless a single word is longer than a chunk.
 */
export function splitIntoChunks(text: string, maxChars: number): string[] {
  const chunks: string[] = [];
  let rest = text;
  while (rest.length > maxChars) {
    const window = rest.slice(0, maxChars);
    const cut =
      usable(window, lastParagraphBreakEnd(window)) ?? usable(window, lastSentenceBreakEnd(window)) ?? usable(window, lastWhitespaceEnd(window)) ?? maxChars;
    chunks.push(rest.slice(0, cut));
    rest = rest.slice(cut);
  }
  if (rest.trim() !== '' || chunks.length === 0) chunks.push(rest);
  return chunks;
}

/** The last break of a kind, `end`, unless it is in the first tenth: that would make a tiny chunk, so a finer break is tried instead. */
function usable(window: string, end: number | undefined): number | undefined {
  return end !== undefined && end > window.length / MIN_CUT_DIVISOR ? end : undefined;
}
