import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { ChildOutcome } from '@taskyard/roles';
import { runRole, type RoleRun } from '@taskyard/testing';
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

type FannedChunk = { documentId: string; chunkIndex: number; chunkCount: number; text: string; startsParagraph: boolean };

/** The docs.analyze payloads of a docs.ingest run's fan-out: one docs.store per chunk, each with one docs.analyze child. */
function analysedChunks(run: RoleRun): FannedChunk[] {
  return (run.fanOut?.children ?? []).map((store) => {
    expect(store.role).toBe('docs.store');
    expect(store.children?.map((node) => node.role)).toEqual(['docs.analyze']);
    return store.children![0]!.payload as FannedChunk;
  });
}

/** What ctx.children() answers docs.store: its docs.analyze child's result. */
function analysisOf(chunk: FannedChunk): ChildOutcome[] {
  const stats = analyseChunk(chunk.text, { startsParagraph: chunk.startsParagraph, endsText: chunk.chunkIndex === chunk.chunkCount - 1 });
  return [{ taskId: `docs.analyze_${'0'.repeat(8)}-0000-4000-8000-${String(chunk.chunkIndex).padStart(12, '0')}`, role: 'docs.analyze', ok: true, result: stats }];
}

/** What ctx.children() answers a resumed docs.ingest: its docs.store children, done. */
function storedChildren(chunks: readonly FannedChunk[]): ChildOutcome[] {
  return chunks.map((chunk) => ({ taskId: `docs.store_${'0'.repeat(8)}-0000-4000-8000-${String(chunk.chunkIndex).padStart(12, '0')}`, role: 'docs.store', ok: true, result: { documentId: chunk.documentId, chunkIndex: chunk.chunkIndex } }));
}

describe('the document pipeline, one role at a time', () => {
  it('docs.ingest splits a text into chunks, records the document, and fans out one docs.store per chunk, each after its docs.analyze', async () => {
    const text = `${'Queues decouple work. '.repeat(20)}\n\n${'Workers scale out. '.repeat(20)}`;
    const run = await runRole(docsIngestRole, { title: 'Notes', text, chunkSize: 300 }, { roles, redis, keyPrefix });
    expect(run.outcome).toBe('waiting-children');
    const documentId = run.message.id;
    const chunks = analysedChunks(run);
    expect(chunks.length).toBeGreaterThan(1);
    expect(run.fanOut?.ids).toHaveLength(chunks.length);
    expect(run.fanOut?.children.map((store) => store.payload)).toEqual(chunks.map(({ chunkIndex, chunkCount }) => ({ documentId, chunkIndex, chunkCount })));
    expect(chunks.map((chunk) => chunk.chunkIndex)).toEqual(chunks.map((_, at) => at));
    expect(chunks.map((chunk) => chunk.text).join('')).toBe(text);
    expect((await new DocumentStore(redis, keyPrefix).read(documentId))?.view).toMatchObject({ title: 'Notes', status: 'processing', chunks: { total: chunks.length, analysed: 0 } });
  });

  it('docs.ingest refuses an empty document permanently', async () => {
    expect(await runRole(docsIngestRole, { title: 'Empty', text: '  \n ' }, { roles, redis, keyPrefix })).toMatchObject({ outcome: 'failed', error: { code: 'EMPTY_DOCUMENT', class: 'permanent' } });
  });

  it("docs.analyze answers a chunk's statistics", async () => {
    const documentId = `docs.ingest_${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}`;
    const run = await runRole(docsAnalyzeRole, { documentId, chunkIndex: 0, chunkCount: 1, text: 'One sentence. Two sentences!' }, { roles });
    expect(run).toMatchObject({ outcome: 'completed', result: analyseChunk('One sentence. Two sentences!') });
    expect(run.sent).toEqual([]);
  });

  it('docs.store stores its child\'s statistics; docs.ingest, run again with every chunk stored, writes the report', async () => {
    const ingest = await runRole(docsIngestRole, { title: 'Two', text: `${'a b c. '.repeat(60)}\n\n${'d e f. '.repeat(60)}`, chunkSize: 300 }, { roles, redis, keyPrefix });
    const documentId = ingest.message.id;
    const chunks = analysedChunks(ingest);
    for (const chunk of chunks) {
      const stored = await runRole(docsStoreRole, { documentId, chunkIndex: chunk.chunkIndex, chunkCount: chunk.chunkCount }, { roles, redis, keyPrefix, children: analysisOf(chunk) });
      expect(stored).toMatchObject({ outcome: 'completed', result: { documentId, chunkIndex: chunk.chunkIndex } });
    }
    expect((await readDocument(documentId))?.view).toMatchObject({ status: 'processing', chunks: { analysed: chunks.length } });
    const resumed = await runRole(docsIngestRole, ingest.message.payload as never, { roles, redis, keyPrefix, children: storedChildren(chunks), messageId: documentId });
    expect(resumed).toMatchObject({ outcome: 'completed', result: { documentId, chunks: chunks.length } });
    expect((await readDocument(documentId))?.view).toMatchObject({ status: 'completed', report: { words: 360 } });
  });

  it('docs.ingest run again with only some chunks stored fans out again (the same children: their ids follow from its id)', async () => {
    const ingest = await runRole(docsIngestRole, { title: 'Two', text: `${'a b c. '.repeat(60)}\n\n${'d e f. '.repeat(60)}`, chunkSize: 300 }, { roles, redis, keyPrefix });
    const again = await runRole(docsIngestRole, ingest.message.payload as never, { roles, redis, keyPrefix, children: storedChildren(analysedChunks(ingest).slice(0, 1)), messageId: ingest.message.id });
    expect(again.outcome).toBe('waiting-children');
    expect(again.fanOut?.ids).toEqual(ingest.fanOut?.ids);
  });

  it('docs.store without an analysis fails permanently (NO_ANALYSIS)', async () => {
    const { documentId } = await ingestTwoChunks();
    expect(await runRole(docsStoreRole, { documentId, chunkIndex: 0, chunkCount: 2 }, { roles, redis, keyPrefix })).toMatchObject({ outcome: 'failed', error: { code: 'NO_ANALYSIS', class: 'permanent' } });
  });
});

/** Runs docs.ingest on a two-chunk text; returns the document id and the docs.analyze payloads it fanned out. */
async function ingestTwoChunks(metadata: { tenant?: string } = {}): Promise<{ documentId: string; chunks: FannedChunk[] }> {
  const ingest = await runRole(docsIngestRole, { title: 'Two', text: `${'a b c. '.repeat(30)}\n\n${'d e f. '.repeat(30)}`, chunkSize: 300 }, { roles, redis, keyPrefix, metadata });
  const chunks = analysedChunks(ingest);
  expect(chunks).toHaveLength(2);
  return { documentId: ingest.message.id, chunks };
}

/** Runs docs.store for one chunk with its real statistics as its child's result; `change` forges fields of the payload. */
function storeChunk(chunk: FannedChunk, change: Partial<{ chunkIndex: number; chunkCount: number }> = {}) {
  return runRole(docsStoreRole, { documentId: chunk.documentId, chunkIndex: chunk.chunkIndex, chunkCount: chunk.chunkCount, ...change }, { roles, redis, keyPrefix, children: analysisOf(chunk) });
}

const readDocument = (documentId: string) => new DocumentStore(redis, keyPrefix).read(documentId);

const writeReport = (documentId: string) => new DocumentStore(redis, keyPrefix).writeReport(documentId);

describe('docs.store takes only the chunks of documents docs.ingest created', () => {
  it('fails a chunk of a made-up document permanently (UNKNOWN_DOCUMENT) and creates no key', async () => {
    const documentId = `docs.ingest_${'0'.repeat(8)}-0000-4000-8000-${'1'.repeat(12)}`;
    const run = await storeChunk({ documentId, chunkIndex: 0, chunkCount: 1, text: 'Made up.', startsParagraph: true });
    expect(run).toMatchObject({ outcome: 'failed', error: { code: 'UNKNOWN_DOCUMENT', class: 'permanent', willRetry: false } });
    expect(await redis.exists(new DocumentStore(redis, keyPrefix).key(documentId))).toBe(0);
  });

  it("fails a chunk beyond the document's chunks (CHUNK_OUT_OF_RANGE) without storing it, and the report needs every real one", async () => {
    const { documentId, chunks } = await ingestTwoChunks();
    expect(await storeChunk(chunks[0]!)).toMatchObject({ outcome: 'completed' });
    expect(await storeChunk(chunks[0]!, { chunkIndex: 2 })).toMatchObject({ outcome: 'failed', error: { code: 'CHUNK_OUT_OF_RANGE', class: 'permanent' } });
    expect(await storeChunk(chunks[0]!, { chunkIndex: 2, chunkCount: 3 })).toMatchObject({ outcome: 'failed', error: { code: 'CHUNK_OUT_OF_RANGE' } });
    expect((await readDocument(documentId))?.view).toMatchObject({ status: 'processing', chunks: { total: 2, analysed: 1 } });
    await expect(writeReport(documentId)).rejects.toMatchObject({ code: 'DOCUMENT_INCOMPLETE' });

    expect(await storeChunk(chunks[1]!)).toMatchObject({ outcome: 'completed' });
    await writeReport(documentId);
    const done = (await readDocument(documentId))?.view;
    expect(done).toMatchObject({ status: 'completed', chunks: { total: 2, analysed: 2 }, report: { words: 180, sentences: 60, paragraphs: 2 } });

    // Nor does one change a finished report.
    expect(await storeChunk(chunks[1]!, { chunkIndex: 5 })).toMatchObject({ outcome: 'failed', error: { code: 'CHUNK_OUT_OF_RANGE' } });
    expect((await readDocument(documentId))?.view).toEqual(done);
  });

  it('a redelivered chunk leaves the report as it was', async () => {
    const { documentId, chunks } = await ingestTwoChunks();
    await storeChunk(chunks[0]!);
    await storeChunk(chunks[1]!);
    await writeReport(documentId);
    const first = (await readDocument(documentId))?.view;
    expect(await storeChunk(chunks[1]!)).toMatchObject({ outcome: 'completed' });
    expect((await readDocument(documentId))?.view).toEqual(first);
  });

  it("renews the document's TTL with every chunk it stores, and with the report", async () => {
    const { documentId, chunks } = await ingestTwoChunks();
    const key = new DocumentStore(redis, keyPrefix).key(documentId);
    const ttl = () => redis.ttl(key);
    expect(await ttl()).toBeGreaterThan(DOCUMENT_TTL_SECONDS - 60);
    for (const chunk of chunks) {
      await redis.expire(key, 60);
      expect(await storeChunk(chunk)).toMatchObject({ outcome: 'completed' });
      expect(await ttl()).toBeGreaterThan(DOCUMENT_TTL_SECONDS - 60);
    }
    await redis.expire(key, 60);
    await writeReport(documentId);
    expect(await ttl()).toBeGreaterThan(DOCUMENT_TTL_SECONDS - 60);
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
    const [chunk] = analysedChunks(run).map((analysed) => analysed.text);
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
