import { describe, expect, it } from 'vitest';
import { MAX_CHUNK_CHARS, MAX_DOCUMENT_CHARS } from '@taskyard/example-roles';
import { usePlatform } from '../support/platform';
import { waitFor } from '../support/wait-for';
import type { WorkerProcess } from '../support/worker-process';

// A megabyte of newlines is two megabytes of JSON ("\n" → "\\n"): above the default 1 MiB body limit.
const { api, worker } = usePlatform({ BODY_LIMIT: String(4 * 1024 * 1024) });

/** A live answer takes milliseconds; the regexes this guards against blocked the event loop for seconds a chunk. */
const LIVENESS_TIMEOUT_MS = 3000;

/**
 * Polls the worker's /health/live until stopped, each request bounded by LIVENESS_TIMEOUT_MS;
 * records each answer's status, or why none came.
 */
function pollLiveness(target: WorkerProcess): { answers: (number | string)[]; stop: () => Promise<void> } {
  const answers: (number | string)[] = [];
  let stopped = false;
  const polling = (async () => {
    while (!stopped) {
      try {
        const response = await fetch(`http://127.0.0.1:${target.metricsPort}/health/live`, { signal: AbortSignal.timeout(LIVENESS_TIMEOUT_MS) });
        await response.text();
        answers.push(response.status);
      } catch (err) {
        answers.push(err instanceof Error ? `${err.name}: ${err.message}` : String(err));
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  return {
    answers,
    stop: async () => {
      stopped = true;
      await polling;
    },
  };
}

async function completedDocument(id: string): Promise<any> {
  return waitFor(
    `document ${id} to be completed`,
    async () => {
      const response = await api.request('GET', `/v1/documents/${id}`);
      return response.body?.status === 'completed' ? response.body : undefined;
    },
    { timeoutMs: 90_000, intervalMs: 250 },
  );
}

describe('documents made to make a regex backtrack', () => {
  it('a megabyte of dots and a megabyte of newlines complete while the worker keeps answering /health/live', async () => {
    // Runs of dots that end in a letter, not in white space: the old sentence-end regex was
    // quadratic on each (seconds per largest chunk). One run per chunk of the largest size.
    const dots = `${'.'.repeat(MAX_CHUNK_CHARS - 1)}x`.repeat(MAX_DOCUMENT_CHARS / MAX_CHUNK_CHARS);
    // Newlines between two words: the old paragraph-end regex was cubic on each chunk of them.
    const newlines = `a${'\n'.repeat(MAX_DOCUMENT_CHARS - 2)}b`;
    expect([dots.length, newlines.length]).toEqual([MAX_DOCUMENT_CHARS, MAX_DOCUMENT_CHARS]);

    const liveness = pollLiveness(worker);
    try {
      const [dotsId, newlinesId] = await Promise.all([
        api.submit('docs.ingest', { title: 'Dots', text: dots, chunkSize: MAX_CHUNK_CHARS }),
        api.submit('docs.ingest', { title: 'Newlines', text: newlines }),
      ]);
      const [dotsDocument, newlinesDocument] = await Promise.all([completedDocument(dotsId), completedDocument(newlinesId)]);
      expect(dotsDocument).toMatchObject({
        chunks: { total: 20, analysed: 20 },
        report: { characters: MAX_DOCUMENT_CHARS, words: 20, sentences: 1, paragraphs: 1, topWords: [{ word: 'x', count: 20 }] },
      });
      expect(newlinesDocument).toMatchObject({
        chunks: { total: 250, analysed: 250 },
        report: { characters: MAX_DOCUMENT_CHARS, words: 2, sentences: 1, paragraphs: 2 },
      });
    } finally {
      await liveness.stop();
    }
    expect(liveness.answers.length).toBeGreaterThan(0);
    expect(liveness.answers.filter((answer) => answer !== 200)).toEqual([]);
  }, 120_000);
});
