import { z } from 'zod';
import { TaskIdSchema } from '@taskyard/contracts';
import { defineRole, PermanentTaskError } from '@taskyard/roles';
import { DEFAULT_CHUNK_CHARS, MAX_CHUNK_CHARS, MAX_CHUNKS, MAX_DOCUMENT_CHARS, MIN_CHUNK_CHARS } from './document-limits';
import { DocumentStore } from './document-store';
import { analyseChunk, ChunkStatisticsSchema, endsParagraph, splitIntoChunks } from './text-statistics';

/**
 * A small layered pipeline (coordination → processing → storage), each layer its own role:
 * `docs.ingest` validates and splits a document, `docs.analyze` computes each chunk's
 * statistics, `docs.store` persists them and assembles the report read by GET /v1/documents/:id.
 * Only the layer before may send to the next (acceptFrom): a client submits documents, never
 * chunks or statistics of its own.
 */
export const DocsIngestPayloadSchema = z
  .object({
    title: z.string().trim().min(1).max(200),
    text: z.string().max(MAX_DOCUMENT_CHARS),
    /** Characters per chunk: smaller chunks spread one document over more workers. */
    chunkSize: z.number().int().min(MIN_CHUNK_CHARS).max(MAX_CHUNK_CHARS).default(DEFAULT_CHUNK_CHARS),
  })
  .strict();

const ChunkIndexSchema = z.number().int().min(0).max(MAX_CHUNKS - 1);
const ChunkCountSchema = z.number().int().min(1).max(MAX_CHUNKS);

export const DocsAnalyzePayloadSchema = z
  .object({
    documentId: TaskIdSchema,
    chunkIndex: ChunkIndexSchema,
    chunkCount: ChunkCountSchema,
    /** False when this chunk continues the previous chunk's paragraph. */
    startsParagraph: z.boolean().default(true),
    text: z.string().max(MAX_CHUNK_CHARS),
  })
  .strict();

export const DocsStorePayloadSchema = z
  .object({
    documentId: TaskIdSchema,
    chunkIndex: ChunkIndexSchema,
    chunkCount: ChunkCountSchema,
    stats: ChunkStatisticsSchema,
  })
  .strict();

export const docsIngestRole = defineRole({
  name: 'docs.ingest',
  description: 'Coordinator: validates a text document, splits it into chunks and fans them out to docs.analyze.',
  input: DocsIngestPayloadSchema,
  output: z.object({ documentId: z.string(), chunks: z.number().int() }),
  concurrency: 5,
  handler: async (message, ctx) => {
    const text = message.payload.text.replace(/\r\n?/g, '\n');
    if (text.trim() === '') throw new PermanentTaskError('the document has no text', 'EMPTY_DOCUMENT');
    const chunks = splitIntoChunks(text, message.payload.chunkSize);
    // The ingest message's id names the document: every later message carries it.
    const documentId = message.id;
    await new DocumentStore(ctx.redis, ctx.keyPrefix).create(documentId, { title: message.payload.title, chunkCount: chunks.length, tenant: message.metadata.tenant });
    // Sending is idempotent per attempt only through the store; a retried ingest re-sends
    // chunks, which docs.store absorbs (chunk fields are overwritten with equal values).
    for (const [chunkIndex, chunk] of chunks.entries()) {
      const startsParagraph = endsParagraph(chunks[chunkIndex - 1]);
      await ctx.send(docsAnalyzeRole, { documentId, chunkIndex, chunkCount: chunks.length, startsParagraph, text: chunk });
    }
    ctx.log.debug({ documentId, chunks: chunks.length }, 'document split');
    return { documentId, chunks: chunks.length };
  },
});

export const docsAnalyzeRole = defineRole({
  name: 'docs.analyze',
  description: 'Processor: computes word, sentence and frequency statistics of one chunk and hands them to docs.store.',
  input: DocsAnalyzePayloadSchema,
  output: z.object({ words: z.number().int() }),
  concurrency: 20,
  acceptFrom: [`role:${docsIngestRole.name}`],
  handler: async (message, ctx) => {
    const { documentId, chunkIndex, chunkCount, startsParagraph, text } = message.payload;
    const stats = analyseChunk(text, { startsParagraph, endsText: chunkIndex === chunkCount - 1 });
    await ctx.send(docsStoreRole, { documentId, chunkIndex, chunkCount, stats });
    return { words: stats.words };
  },
});

export const docsStoreRole = defineRole({
  name: 'docs.store',
  description: 'Storage: persists chunk statistics and, when the last chunk arrives, the document report.',
  input: DocsStorePayloadSchema,
  output: z.object({ documentId: z.string(), complete: z.boolean() }),
  concurrency: 10,
  acceptFrom: [`role:${docsAnalyzeRole.name}`],
  handler: async (message, ctx) => {
    const { documentId, chunkIndex, chunkCount, stats } = message.payload;
    const complete = await new DocumentStore(ctx.redis, ctx.keyPrefix).saveChunk(documentId, { index: chunkIndex, count: chunkCount, stats });
    if (complete) ctx.log.info({ documentId }, 'document report stored');
    return { documentId, complete };
  },
});
