import type { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_DOCUMENT_CHARS } from '@taskyard/example-roles';
import { ApiServer } from '../support/api-server';
import { roleQueue } from '../support/role-queue';
import { deletePrefix, testEnv, testRedis } from '../support/test-env';
import { waitFor } from '../support/wait-for';
import { WorkerProcess } from '../support/worker-process';
import { expectError, waitForState } from './helpers';

const env = testEnv();
const prefix = env['QUEUE_PREFIX']!;
const api = new ApiServer(env);
const worker = new WorkerProcess(env);
let redis: Redis | Cluster;

beforeAll(async () => {
  redis = testRedis({ maxRetriesPerRequest: null });
  await Promise.all([api.start(), worker.start()]);
});

afterAll(async () => {
  await Promise.all([api.stop(), worker.stop()]);
  redis.disconnect();
  await deletePrefix(env['REDIS_URL']!, prefix);
});

const VOCABULARY = (
  'queue worker task role signal message broker retry backoff replica metric report chunk document paragraph ' +
  'sentence storage pipeline producer consumer latency throughput capacity partition cluster'
).split(' ');

/** A text of `paragraphs` paragraphs of plain words (letters only), so its word count is just its tokens. */
function makeDocument(paragraphs: number): { text: string; words: number } {
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2_147_483_648);
  let words = 0;
  const out: string[] = [];
  for (let p = 0; p < paragraphs; p++) {
    const sentences: string[] = [];
    for (let s = 0; s < 3; s++) {
      const length = 6 + (next() % 8);
      const sentence = Array.from({ length }, () => VOCABULARY[next() % VOCABULARY.length]!);
      sentence[0] = sentence[0]!.charAt(0).toUpperCase() + sentence[0]!.slice(1);
      words += length;
      sentences.push(`${sentence.join(' ')}.`);
    }
    out.push(sentences.join(' '));
  }
  return { text: out.join('\n\n'), words };
}

async function jobsOf(role: string): Promise<any[]> {
  const queue = roleQueue(redis, prefix, role);
  try {
    return await queue.getJobs(['completed', 'failed', 'active', 'waiting', 'delayed']);
  } finally {
    await queue.close();
  }
}

describe('the document pipeline (docs.ingest fans out docs.store after docs.analyze per chunk, then reports)', () => {
  it('turns a submitted text into a report readable through the API, with the causal chain intact', async () => {
    const { text, words } = makeDocument(12);
    // An independent count: whitespace-separated tokens of a letters-only text.
    expect(text.split(/\s+/).filter(Boolean)).toHaveLength(words);
    expect(text.length).toBeGreaterThan(1200);

    const ingestId = await api.submit(
      'docs.ingest',
      { title: 'Queues in practice', text, chunkSize: 300 },
      { metadata: { correlationId: 'doc-corr-42' } },
    );

    const document = await waitFor(
      'the document report',
      async () => {
        const response = await api.request('GET', `/v1/documents/${ingestId}`);
        return response.status === 200 && response.body.status === 'completed' ? response.body : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    expect(document).toMatchObject({ id: ingestId, title: 'Queues in practice', status: 'completed' });
    expect(document.chunks.total).toBeGreaterThan(1);
    expect(document.chunks.analysed).toBe(document.chunks.total);
    expect(document.report.words).toBe(words);
    expect(document.report.characters).toBe(text.length);
    expect(document.report.paragraphs).toBe(12);
    expect(document.report.sentences).toBe(36);
    expect(document.report.topWords.length).toBeGreaterThan(0);
    expect(Date.parse(document.completedAt)).toBeGreaterThanOrEqual(Date.parse(document.createdAt));

    // The coordinator's own task: completed, naming the document and its chunks.
    const ingest = await waitForState(api, ingestId, 'completed');
    expect(ingest).toMatchObject({ role: 'docs.ingest', correlationId: 'doc-corr-42', causationId: null });
    expect(ingest.result).toEqual({ documentId: ingestId, chunks: document.chunks.total });

    // The fan-out: one docs.store per chunk under the ingest task, one docs.analyze under each
    // docs.store (BullMQ's parent links), all caused by the ingest task and sharing its correlation id.
    const analyze = await jobsOf('docs.analyze');
    const store = await waitFor('every docs.store task', async () => {
      const jobs = await jobsOf('docs.store');
      return jobs.length === document.chunks.total ? jobs : undefined;
    });
    expect(analyze).toHaveLength(document.chunks.total);
    const analyzeIds = new Set(analyze.map((job) => job.data.id as string));
    for (const job of analyze) {
      expect(job.data.metadata).toMatchObject({ correlationId: 'doc-corr-42', causationId: ingestId, source: 'role:docs.ingest' });
      expect(job.data.payload).toMatchObject({ documentId: ingestId, chunkCount: document.chunks.total });
    }
    expect(new Set(analyze.map((job) => job.data.payload.chunkIndex)).size).toBe(document.chunks.total);
    const storeIds = new Set(store.map((job) => job.data.id as string));
    for (const job of store) {
      expect(job.data.metadata).toMatchObject({ correlationId: 'doc-corr-42', causationId: ingestId, source: 'role:docs.ingest' });
      expect(job.parentKey).toMatch(new RegExp(`:docs\\.ingest:${ingestId}$`));
    }
    for (const job of analyze) expect(storeIds.has(String(job.parentKey).split(':').at(-1)!)).toBe(true);
    expect(analyzeIds.size).toBe(document.chunks.total);

    // The same chain through the API: a follow-up task is found by its id alone.
    const child = await waitForState(api, analyze[0]!.data.id, 'completed');
    expect(child).toMatchObject({ role: 'docs.analyze', correlationId: 'doc-corr-42', causationId: ingestId });
    const sibling = await waitForState(api, store[0]!.data.id, 'completed');
    expect(sibling).toMatchObject({ role: 'docs.store', correlationId: 'doc-corr-42', causationId: ingestId });
  });

  it('counts a paragraph longer than a chunk once', async () => {
    const paragraph = Array.from({ length: 8 }, () => 'This sentence has several words in it and goes on.').join(' ');
    const text = [paragraph, paragraph, paragraph].join('\n\n');
    const id = await api.submit('docs.ingest', { title: 'Long paragraphs', text, chunkSize: 300 });
    const document = await waitFor('the report', async () => {
      const response = await api.request('GET', `/v1/documents/${id}`);
      return response.body?.status === 'completed' ? response.body : undefined;
    });
    expect(document.chunks.total).toBeGreaterThan(3);
    expect(document.report.words).toBe(3 * 8 * 10);
    expect(document.report.paragraphs).toBe(3);
  });

  it('a document without text fails its ingest task permanently, and the document is never created', async () => {
    const id = await api.submit('docs.ingest', { title: 'Blank', text: '   \n\n  ' });
    const task = await waitForState(api, id, 'failed');
    expect(task).toMatchObject({ attempts: 1, error: { code: 'EMPTY_DOCUMENT' } });
    expectError(await api.request('GET', `/v1/documents/${id}`), 404, 'NOT_FOUND');
  });

  it('an ingest payload that breaks the role schema is refused before enqueueing', async () => {
    const response = await api.request('POST', '/v1/tasks', { body: { role: 'docs.ingest', payload: { title: '', text: 'x', chunkSize: 10 } } });
    const error = expectError(response, 400, 'VALIDATION_FAILED');
    const fields = (error.details as { field: string }[]).map((detail) => detail.field);
    expect(fields).toEqual(expect.arrayContaining(['payload.title', 'payload.chunkSize']));
  });

  it('refuses, before enqueueing, a document that would make more chunks than one fan-out holds, naming chunkSize', async () => {
    const text = 'Word word word. '.repeat(10_000);
    const error = expectError(await api.request('POST', '/v1/tasks', { body: { role: 'docs.ingest', payload: { title: 'Many', text, chunkSize: 200 } } }), 400, 'VALIDATION_FAILED');
    expect(error.details).toEqual([expect.objectContaining({ field: 'payload.chunkSize', message: expect.stringContaining('at most 500') })]);
    expect((await api.request('POST', '/v1/tasks', { body: { role: 'docs.ingest', payload: { title: 'Many', text, chunkSize: 2000 } } })).status).toBe(202);
  });

  it('refuses a document longer than docs.ingest\'s cap before enqueueing', async () => {
    const response = await api.request('POST', '/v1/tasks', { body: { role: 'docs.ingest', payload: { title: 'Long', text: 'x'.repeat(MAX_DOCUMENT_CHARS + 1) } } });
    const error = expectError(response, 400, 'VALIDATION_FAILED');
    expect((error.details as { field: string }[]).map((detail) => detail.field)).toEqual(['payload.text']);
  });
});

describe('docs.analyze and docs.store take their tasks from the pipeline only', () => {
  it('answers a client key\'s task for either with 403 FORBIDDEN, and nothing reaches the document', async () => {
    const documentId = await api.submit('docs.ingest', { title: 'Someone else\'s', text: 'Three words here.' });
    const before = await waitFor('the report', async () => {
      const response = await api.request('GET', `/v1/documents/${documentId}`);
      return response.body?.status === 'completed' ? response.body : undefined;
    });
    const forged = [
      { role: 'docs.analyze', payload: { documentId, chunkIndex: 1, chunkCount: 2, text: 'Forged words.' } },
      { role: 'docs.store', payload: { documentId, chunkIndex: 1, chunkCount: 2 } },
    ];
    for (const { role, payload } of forged) {
      const error = expectError(await api.request('POST', '/v1/tasks', { body: { role, payload } }), 403, 'FORBIDDEN');
      expect(error.details).toEqual({ field: 'role' });
      expectError(await api.request('POST', '/v1/tasks/batch', { body: { tasks: [{ role, payload }] } }), 403, 'FORBIDDEN');
      // Nor as a workflow's node.
      const workflow = expectError(await api.request('POST', '/v1/workflows', { body: { root: { role, payload } } }), 403, 'FORBIDDEN');
      expect(workflow.details).toEqual({ field: 'root.role' });
    }

    // Only the pipeline's own tasks name the document: one chunk analysed, one stored.
    const sources = async (role: string) =>
      (await jobsOf(role)).filter((job) => job.data.payload.documentId === documentId).map((job) => job.data.metadata.source);
    expect(await sources('docs.analyze')).toEqual(['role:docs.ingest']);
    expect(await sources('docs.store')).toEqual(['role:docs.ingest']);
    expect((await api.request('GET', `/v1/documents/${documentId}`)).body).toEqual(before);
  });
});
