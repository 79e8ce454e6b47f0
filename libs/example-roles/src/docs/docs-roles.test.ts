import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { runRole } from '@taskyard/testing';
import { docsAnalyzeRole, docsIngestRole, docsStoreRole } from './docs-roles';
import { MAX_CHUNK_CHARS } from './document-limits';
import { DOCUMENT_TTL_SECONDS, DocumentStore } from './document-store';
import { analyseChunk } from './text-statistics';

const roles = [docsIngestRole, docsAnalyzeRole, docsStoreRole];
const keyPrefix = `t-${randomBytes(4).toString('hex')}`;
const redis = new Redis(inject('redisUrl'));
afterAll(async () => {
  const found = await redis.keys(`${keyPrefix}:*`);
  if (found.length > 0) await redis.del(...found);
  redis.disconnect();
});

describe('the document pipeline, one role at a time', () => {
  it('docs.ingest splits a text into chunks, records the document, and sends one docs.analyze task per chunk', async () => {
    const text = `${'Queues decouple work. '.repeat(20)}\n\n${'Workers scale out. '.repeat(20)}`;
    const run = await runRole(docsIngestRole, { title: 'Notes', text, chunkSize: 300 }, { roles, redis, keyPrefix });
    expect(run.outcome).toBe('completed');
    const documentId = run.message.id;
    expect(run.result).toEqual({ documentId, chunks: run.sent.length });
    expect(run.sent.length).toBeGreaterThan(1);
    expect(run.sent.map((sent) => sent.role)).toEqual(run.sent.map(() => 'docs.analyze'));
    expect(run.sent.map((sent) => (sent.payload as { chunkIndex: number }).chunkIndex)).toEqual(run.sent.map((_, at) => at));
    expect((run.sent.map((sent) => (sent.payload as { text: string }).text)).join('')).toBe(text);
    expect((await new DocumentStore(redis, keyPrefix).read(documentId))?.view).toMatchObject({ title: 'Notes', status: 'processing', chunks: { total: run.sent.length, analysed: 0 } });
  });

  it('docs.ingest refuses an empty document permanently', async () => {
    expect(await runRole(docsIngestRole, { title: 'Empty', text: '  \n ' }, { roles, redis, keyPrefix })).toMatchObject({ outcome: 'failed', error: { code: 'EMPTY_DOCUMENT', class: 'permanent' } });
  });

  it('docs.analyze computes a chunk\'s statistics and hands them to docs.store', async () => {
    const documentId = `docs.ingest_${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}`;
    const run = await runRole(docsAnalyzeRole, { documentId, chunkIndex: 0, chunkCount: 1, text: 'One sentence. Two sentences!' }, { roles });
    expect(run).toMatchObject({ outcome: 'completed', result: { words: 4 } });
    expect(run.sent).toEqual([
      expect.objectContaining({ role: 'docs.store', payload: { documentId, chunkIndex: 0, chunkCount: 1, stats: analyseChunk('One sentence. Two sentences!') } }),
    ]);
  });

  it('docs.store writes the report once the last chunk is in', async () => {
    const ingest = await runRole(docsIngestRole, { title: 'Two', text: `${'a b c. '.repeat(60)}\n\n${'d e f. '.repeat(60)}`, chunkSize: 300 }, { roles, redis, keyPrefix });
    const documentId = ingest.message.id;
    const chunks = ingest.sent.map((sent) => sent.payload as { chunkIndex: number; chunkCount: number; text: string; startsParagraph: boolean });
    for (const [at, chunk] of chunks.entries()) {
      const stats = analyseChunk(chunk.text, { startsParagraph: chunk.startsParagraph, endsText: at === chunks.length - 1 });
      const stored = await runRole(docsStoreRole, { documentId, chunkIndex: chunk.chunkIndex, chunkCount: chunk.chunkCount, stats }, { roles, redis, keyPrefix });
      expect(stored).toMatchObject({ outcome: 'completed', result: { documentId, complete: at === chunks.length - 1 } });
    }
    expect((await new DocumentStore(redis, keyPrefix).read(documentId))?.view).toMatchObject({ status: 'completed', report: { words: 360 } });
  });
});

type SentChunk = { documentId: string; chunkIndex: number; chunkCount: number; text: string; startsParagraph: boolean };

/** Runs docs.ingest on a two-chunk text; returns the document id and the docs.analyze payloads it sent. */
async function ingestTwoChunks(metadata: { tenant?: string } = {}): Promise<{ documentId: string; chunks: SentChunk[] }> {
  const ingest = await runRole(docsIngestRole, { title: 'Two', text: `${'a b c. '.repeat(30)}\n\n${'d e f. '.repeat(30)}`, chunkSize: 300 }, { roles, redis, keyPrefix, metadata });
  const chunks = ingest.sent.map((sent) => sent.payload as SentChunk);
  expect(chunks).toHaveLength(2);
  return { documentId: ingest.message.id, chunks };
}

/** Runs docs.store for one chunk with its real statistics; `change` forges fields of the payload. */
function storeChunk(chunk: SentChunk, change: Partial<{ chunkIndex: number; chunkCount: number }> = {}) {
  const stats = analyseChunk(chunk.text, { startsParagraph: chunk.startsParagraph, endsText: chunk.chunkIndex === chunk.chunkCount - 1 });
  return runRole(docsStoreRole, { documentId: chunk.documentId, chunkIndex: chunk.chunkIndex, chunkCount: chunk.chunkCount, stats, ...change }, { roles, redis, keyPrefix });
}

const readDocument = (documentId: string) => new DocumentStore(redis, keyPrefix).read(documentId);

describe('docs.store takes only the chunks of documents docs.ingest created', () => {
  it('fails a chunk of a made-up document permanently (UNKNOWN_DOCUMENT) and creates no key', async () => {
    const documentId = `docs.ingest_${'0'.repeat(8)}-0000-4000-8000-${'1'.repeat(12)}`;
    const run = await storeChunk({ documentId, chunkIndex: 0, chunkCount: 1, text: 'Made up.', startsParagraph: true });
    expect(run).toMatchObject({ outcome: 'failed', error: { code: 'UNKNOWN_DOCUMENT', class: 'permanent', willRetry: false } });
    expect(await redis.exists(new DocumentStore(redis, keyPrefix).key(documentId))).toBe(0);
  });

  it('fails a chunk beyond the document\'s chunks (CHUNK_OUT_OF_RANGE) without counting it, so the report waits for the real one', async () => {
    const { documentId, chunks } = await ingestTwoChunks();
    expect(await storeChunk(chunks[0]!)).toMatchObject({ outcome: 'completed', result: { complete: false } });
    // Before the fix, a second chunk 0's worth under another index completed the document with half its text.
    expect(await storeChunk(chunks[0]!, { chunkIndex: 2 })).toMatchObject({ outcome: 'failed', error: { code: 'CHUNK_OUT_OF_RANGE', class: 'permanent' } });
    expect(await storeChunk(chunks[0]!, { chunkIndex: 2, chunkCount: 3 })).toMatchObject({ outcome: 'failed', error: { code: 'CHUNK_OUT_OF_RANGE' } });
    expect((await readDocument(documentId))?.view).toMatchObject({ status: 'processing', chunks: { total: 2, analysed: 1 } });

    expect(await storeChunk(chunks[1]!)).toMatchObject({ outcome: 'completed', result: { complete: true } });
    const done = (await readDocument(documentId))?.view;
    expect(done).toMatchObject({ status: 'completed', chunks: { total: 2, analysed: 2 }, report: { words: 180, sentences: 60, paragraphs: 2 } });

    // Nor does one change a finished report.
    expect(await storeChunk(chunks[1]!, { chunkIndex: 5 })).toMatchObject({ outcome: 'failed', error: { code: 'CHUNK_OUT_OF_RANGE' } });
    expect((await readDocument(documentId))?.view).toEqual(done);
  });

  it('writes the report once: a redelivered last chunk completes again without changing it', async () => {
    const { documentId, chunks } = await ingestTwoChunks();
    await storeChunk(chunks[0]!);
    await storeChunk(chunks[1]!);
    const first = (await readDocument(documentId))?.view;
    expect(await storeChunk(chunks[1]!)).toMatchObject({ outcome: 'completed', result: { complete: true } });
    expect(await storeChunk(chunks[0]!)).toMatchObject({ outcome: 'completed', result: { complete: true } });
    expect((await readDocument(documentId))?.view).toEqual(first);
  });

  it('renews the document\'s TTL with every chunk it stores, the last one (which writes the report) too', async () => {
    const { documentId, chunks } = await ingestTwoChunks();
    const key = new DocumentStore(redis, keyPrefix).key(documentId);
    const ttl = () => redis.ttl(key);
    expect(await ttl()).toBeGreaterThan(DOCUMENT_TTL_SECONDS - 60);
    for (const chunk of chunks) {
      await redis.expire(key, 60);
      expect(await storeChunk(chunk)).toMatchObject({ outcome: 'completed' });
      expect(await ttl()).toBeGreaterThan(DOCUMENT_TTL_SECONDS - 60);
    }
    expect((await readDocument(documentId))?.view.status).toBe('completed');
  });
});

describe('the document record', () => {
  it('keeps the tenant of the ingest message with the document', async () => {
    expect((await readDocument((await ingestTwoChunks({ tenant: 'acme' })).documentId))?.tenant).toBe('acme');
    expect((await readDocument((await ingestTwoChunks()).documentId))?.tenant).toBeUndefined();
  });
});

describe('the document pipeline\'s limits', () => {
  it('normalises CRLF and CR line ends at ingest, so a Windows paragraph break is one', async () => {
    const run = await runRole(docsIngestRole, { title: 'CRLF', text: 'First paragraph.\r\n\r\nSecond one.\r\nStill second.\rThird line.' }, { roles, redis, keyPrefix });
    const [chunk] = run.sent.map((sent) => (sent.payload as { text: string }).text);
    expect(chunk).toBe('First paragraph.\n\nSecond one.\nStill second.\nThird line.');
    expect(analyseChunk(chunk!)).toMatchObject({ paragraphs: 2, sentences: 4 });
  });

  it('refuses a docs.analyze chunk longer than the largest chunk size, and indices past the most chunks a document can have', async () => {
    const documentId = `docs.ingest_${'0'.repeat(8)}-0000-4000-8000-${'2'.repeat(12)}`;
    const analyze = (payload: { chunkIndex?: number; chunkCount?: number; text?: string }) =>
      runRole(docsAnalyzeRole, { documentId, chunkIndex: 0, chunkCount: 1, text: 'ok', ...payload }, { roles });
    expect(await analyze({ text: 'x'.repeat(MAX_CHUNK_CHARS) })).toMatchObject({ outcome: 'completed' });
    expect(await analyze({ text: 'x'.repeat(MAX_CHUNK_CHARS + 1) })).toMatchObject({ outcome: 'failed', error: { code: 'SCHEMA_INVALID' } });
    expect(await analyze({ chunkIndex: 1e9, chunkCount: 1e9 + 1 })).toMatchObject({ outcome: 'failed', error: { code: 'SCHEMA_INVALID' } });
  });
});
