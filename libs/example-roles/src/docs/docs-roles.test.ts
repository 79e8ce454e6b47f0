import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { runRole } from '@taskyard/testing';
import { docsAnalyzeRole, docsIngestRole, docsStoreRole } from './docs-roles';
import { MAX_CHUNK_CHARS } from './document-limits';
import { DocumentStore } from './document-store';
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
    expect(await new DocumentStore(redis, keyPrefix).read(documentId)).toMatchObject({ title: 'Notes', status: 'processing', chunks: { total: run.sent.length, analysed: 0 } });
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
    expect(await new DocumentStore(redis, keyPrefix).read(documentId)).toMatchObject({ status: 'completed', report: { words: 360 } });
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
