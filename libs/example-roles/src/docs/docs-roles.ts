import { z } from 'zod';
import { TaskIdSchema } from '@taskyard/contracts';
import { child, defineRole, PermanentTaskError } from '@taskyard/roles';
import { DEFAULT_CHUNK_CHARS, MAX_CHUNK_CHARS, MAX_DOCUMENT_CHARS, MAX_FANOUT_CHUNKS, MIN_CHUNK_CHARS } from './document-limits';
import { DocumentStore } from './document-store';
import { analyseChunk, ChunkStatisticsSchema, endsParagraph, splitIntoChunks } from './text-statistics';

/**
 * A small layered pipeline (coordination → processing → storage), each layer its own role, on
 * Taskyard's run-time fan-out (BullMQ's flows): `docs.ingest` validates and splits a document and
 * adds one `docs.store` per chunk under itself, each after one `docs.analyze` that computes the
 * chunk's statistics; `docs.store` persists them; when every chunk is stored, BullMQ runs
 * `docs.ingest` again, which writes the report read by GET /v1/documents/:id. Nothing counts
 * chunks by hand: the flow knows when the children are done. Only the coordinator may start the
 * others (acceptFrom): a client submits documents, never chunks or statistics of its own. The
 * three roles are one family (`docs.*`), so the tree stays in one hash slot on a Redis Cluster.
 */
export const DocsIngestPayloadSchema = z
  .object({
    title: z.string().trim().min(1).max(200),
    text: z.string().max(MAX_DOCUMENT_CHARS),
    /** Characters per chunk: smaller chunks spread one document over more workers. */
    chunkSize: z.number().int().min(MIN_CHUNK_CHARS).max(MAX_CHUNK_CHARS).default(DEFAULT_CHUNK_CHARS),
  })
  .strict()
  // Refused at the door, not after the 202: the fan-out of a document is bounded.
  .superRefine((document, ctx) => {
    const chunks = documentChunks(document.text, document.chunkSize).length;
    if (chunks > MAX_FANOUT_CHUNKS) {
      ctx.addIssue({ code: 'custom', path: ['chunkSize'], message: `this text makes ${chunks} chunks at chunkSize ${document.chunkSize}; at most ${MAX_FANOUT_CHUNKS}: give a larger chunkSize` });
    }
  });

/** A document's text as docs.ingest splits it (line ends normalised). */
function documentChunks(text: string, chunkSize: number): string[] {
  return splitIntoChunks(text.replace(/\r\n?/g, '\n'), chunkSize);
}

const ChunkIndexSchema = z.number().int().min(0).max(MAX_FANOUT_CHUNKS - 1);
const ChunkCountSchema = z.number().int().min(1).max(MAX_FANOUT_CHUNKS);

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

/** One chunk to store: its statistics are its child docs.analyze's result. */
export const DocsStorePayloadSchema = z
  .object({
    documentId: TaskIdSchema,
    chunkIndex: ChunkIndexSchema,
    chunkCount: ChunkCountSchema,
  })
  .strict();

export const docsAnalyzeRole = defineRole({
  name: 'docs.analyze',
  description: 'Processor: computes word, sentence and frequency statistics of one chunk (its parent docs.store stores them).',
  input: DocsAnalyzePayloadSchema,
  output: ChunkStatisticsSchema,
  concurrency: 20,
  acceptFrom: ['role:docs.ingest'],
  handler: async (message) => {
    const { chunkIndex, chunkCount, startsParagraph, text } = message.payload;
    return analyseChunk(text, { startsParagraph, endsText: chunkIndex === chunkCount - 1 });
  },
});

export const docsStoreRole = defineRole({
  name: 'docs.store',
  description: 'Storage: persists the statistics its child docs.analyze computed for each chunk, up to 50 chunks per call (a batch role).',
  input: DocsStorePayloadSchema,
  output: z.object({ documentId: z.string(), chunkIndex: z.number().int() }),
  // Batches at once per worker process, each of up to 50 chunks gathered for at most 20 ms.
  concurrency: 4,
  batch: { size: 50, maxWaitMs: 20 },
  acceptFrom: ['role:docs.ingest'],
  handleBatch: async (batch) => {
    // Each chunk's statistics are its child's result, read from Redis (not a signed message): checked again.
    const chunks = await Promise.all(
      batch.map(async ({ message, ctx }) => {
        const { documentId, chunkIndex, chunkCount } = message.payload;
        const [analysis] = await ctx.children(docsAnalyzeRole);
        if (!analysis?.ok) return new PermanentTaskError(`chunk ${chunkIndex} of document "${documentId}" has no analysis`, 'NO_ANALYSIS');
        const stats = ChunkStatisticsSchema.safeParse(analysis.result);
        if (!stats.success) return new PermanentTaskError(`chunk ${chunkIndex} of document "${documentId}": its analysis is not chunk statistics`, 'NO_ANALYSIS');
        return { documentId, chunk: { index: chunkIndex, count: chunkCount, stats: stats.data } };
      }),
    );
    const { redis, keyPrefix } = batch[0]!.ctx;
    // One call for every chunk of the batch; a chunk that cannot be stored fails alone.
    const written = await new DocumentStore(redis, keyPrefix).saveChunks(chunks.filter((chunk): chunk is Exclude<typeof chunk, Error> => !(chunk instanceof Error)));
    let next = 0;
    return chunks.map((chunk, at) => {
      if (chunk instanceof Error) return chunk;
      const error = written[next++];
      return error ?? { documentId: chunk.documentId, chunkIndex: batch[at]!.message.payload.chunkIndex };
    });
  },
});

export const docsIngestRole = defineRole({
  name: 'docs.ingest',
  description: 'Coordinator: validates a text document, splits it into chunks, fans out one docs.store (after its docs.analyze) per chunk, and writes the report once all are stored.',
  input: DocsIngestPayloadSchema,
  output: z.object({ documentId: z.string(), chunks: z.number().int() }),
  concurrency: 5,
  handler: async (message, ctx) => {
    if (message.payload.text.trim() === '') throw new PermanentTaskError('the document has no text', 'EMPTY_DOCUMENT');
    const chunks = documentChunks(message.payload.text, message.payload.chunkSize);
    // The ingest message's id names the document: every later message carries it.
    const documentId = message.id;
    const documents = new DocumentStore(ctx.redis, ctx.keyPrefix);
    const stored = await ctx.children(docsStoreRole);
    if (stored.length < chunks.length) {
      // The first run (or one cut short after its fan-out: the children's ids follow from this
      // task's, so none is added twice). One docs.store per chunk, each after its docs.analyze.
      await documents.create(documentId, { title: message.payload.title, chunkCount: chunks.length, tenant: message.metadata.tenant });
      const chunkCount = chunks.length;
      return ctx.fanOut(
        chunks.map((chunk, chunkIndex) =>
          child(docsStoreRole, { documentId, chunkIndex, chunkCount }, {
            children: [child(docsAnalyzeRole, { documentId, chunkIndex, chunkCount, startsParagraph: endsParagraph(chunks[chunkIndex - 1]), text: chunk })],
          }),
        ),
      );
    }
    // Run again once every chunk is stored: the report.
    await documents.writeReport(documentId);
    ctx.log.info({ documentId, chunks: chunks.length }, 'document report stored');
    return { documentId, chunks: chunks.length };
  },
});
