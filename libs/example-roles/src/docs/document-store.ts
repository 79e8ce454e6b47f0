import { resolve } from 'node:path';
import type { Cluster, Redis } from 'ioredis';
import { z } from 'zod';
import { PermanentTaskError } from '@taskyard/roles';
import { LuaScripts, TaskyardKeys } from '@taskyard/store';
import { ChunkStatisticsSchema, DocumentReportSchema, mergeStatistics, type ChunkStatistics } from './text-statistics';

/** How long a document's record and report are kept after its last write. */
export const DOCUMENT_TTL_SECONDS = 7 * 86_400;

export const DocumentViewSchema = z.object({
  id: z.string(),
  title: z.string(),
  status: z.enum(['processing', 'completed']),
  chunks: z.object({ total: z.number().int(), analysed: z.number().int() }),
  createdAt: z.iso.datetime(),
  completedAt: z.iso.datetime().optional(),
  report: DocumentReportSchema.optional(),
});
export type DocumentView = z.infer<typeof DocumentViewSchema>;

/** A stored document: what GET /v1/documents/:id shows, and the tenant of the task that submitted it. */
export interface StoredDocument {
  view: DocumentView;
  /** The ingest message's `metadata.tenant`, undefined when it had none. */
  tenant: string | undefined;
}

/** What docs.ingest records about a new document. */
export interface NewDocument {
  title: string;
  chunkCount: number;
  tenant: string | undefined;
}

/** One analysed chunk, as docs.store got it. */
export interface AnalysedChunk {
  index: number;
  /** The document's chunk count as the task says; it must be the document's own. */
  count: number;
  stats: ChunkStatistics;
}

const MetaSchema = z.object({ title: z.string(), chunkCount: z.number().int(), createdAt: z.string(), tenant: z.string().optional() });
const FinalSchema = z.object({ completedAt: z.string(), report: DocumentReportSchema });

/** The checked writes (lua/*.lua, beside src/ and dist/ alike): a document's hash is only ever created by `create`, with its TTL. */
const DOCUMENT_SCRIPTS = new LuaScripts(resolve(__dirname, '../../lua'), {
  docsSaveChunk: { file: 'save-document-chunk.lua', keys: 1 },
  docsSaveReport: { file: 'save-document-report.lua', keys: 1 },
});

type SaveChunkReply = ['saved' | 'unknown' | 'out-of-range', number];

/**
 * The storage layer of the document pipeline: one Redis hash per document with its metadata,
 * one field per analysed chunk, and the final report its coordinator writes once every chunk is in. Only a document
 * docs.ingest created takes chunks, and only its own; writes are idempotent, so a redelivered
 * task cannot corrupt a document.
 */
export class DocumentStore {
  private readonly keys: TaskyardKeys;

  constructor(
    private readonly redis: Redis | Cluster,
    prefix: string,
  ) {
    this.keys = new TaskyardKeys(prefix);
  }

  key(documentId: string): string {
    return this.keys.document(documentId);
  }

  /** Records a new document (a retried ingest keeps the first record) and sets the hash's TTL. */
  async create(documentId: string, document: NewDocument): Promise<void> {
    const meta = JSON.stringify({ title: document.title, chunkCount: document.chunkCount, createdAt: new Date().toISOString(), tenant: document.tenant });
    await this.redis.multi().hsetnx(this.key(documentId), 'meta', meta).expire(this.key(documentId), DOCUMENT_TTL_SECONDS).exec();
  }

  /**
   * Stores one chunk's statistics (idempotent: a redelivered chunk writes the same field).
   * Throws UNKNOWN_DOCUMENT for a document that does not exist and CHUNK_OUT_OF_RANGE for a chunk
   * that is not one of its own (both permanent).
   */
  async saveChunk(documentId: string, chunk: AnalysedChunk): Promise<void> {
    const scripts = DOCUMENT_SCRIPTS.on(this.redis);
    const [outcome, chunkCount] = (await scripts.docsSaveChunk(this.key(documentId), chunk.index, chunk.count, JSON.stringify(chunk.stats), DOCUMENT_TTL_SECONDS)) as SaveChunkReply;
    if (outcome === 'unknown') throw unknownDocument(documentId);
    if (outcome === 'out-of-range') {
      throw new PermanentTaskError(`chunk ${chunk.index} of ${chunk.count} is not one of the ${chunkCount} chunks of document "${documentId}"`, 'CHUNK_OUT_OF_RANGE');
    }
  }

  /**
   * Stores several chunks (of one or several documents) at once: their writes go out together
   * (one script call each, sent without waiting for one another, so about one round trip for
   * all; on a cluster each to its node). Answers, per chunk, undefined when stored or the
   * permanent error that chunk alone met (see saveChunk).
   */
  async saveChunks(chunks: readonly { documentId: string; chunk: AnalysedChunk }[]): Promise<(PermanentTaskError | undefined)[]> {
    return Promise.all(
      chunks.map(({ documentId, chunk }) =>
        this.saveChunk(documentId, chunk).then(
          () => undefined,
          (err: unknown) => {
            if (err instanceof PermanentTaskError) return err;
            throw err;
          },
        ),
      ),
    );
  }

  /**
   * Writes the document's report from its chunks' statistics (again, equal, when run again).
   * Throws UNKNOWN_DOCUMENT, or DOCUMENT_INCOMPLETE while a chunk is missing (permanent: the
   * coordinator writes it only once every docs.store child completed).
   */
  async writeReport(documentId: string): Promise<void> {
    const key = this.key(documentId);
    const fields = await this.redis.hgetall(key);
    if (!fields['meta']) throw unknownDocument(documentId);
    const chunkCount = MetaSchema.parse(JSON.parse(fields['meta'])).chunkCount;
    const chunks = chunkStatistics(fields, chunkCount);
    if (!chunks) throw new PermanentTaskError(`document "${documentId}" misses chunks of its ${chunkCount}`, 'DOCUMENT_INCOMPLETE');
    const final = { completedAt: new Date().toISOString(), report: mergeStatistics(chunks) };
    if ((await DOCUMENT_SCRIPTS.on(this.redis).docsSaveReport(key, JSON.stringify(final), DOCUMENT_TTL_SECONDS)) !== 1) throw unknownDocument(documentId);
  }

  /** The document's view and tenant: two fields and a count, however many chunks it has. */
  async read(documentId: string): Promise<StoredDocument | undefined> {
    const key = this.key(documentId);
    const replies = (await this.redis.multi().hmget(key, 'meta', 'final').hlen(key).exec()) ?? [];
    for (const [err] of replies) if (err) throw err;
    const [rawMeta, rawFinal] = replies[0]![1] as (string | null)[];
    const fieldCount = replies[1]![1] as number;
    if (!rawMeta) return undefined;
    const meta = MetaSchema.parse(JSON.parse(rawMeta));
    const final = rawFinal ? FinalSchema.parse(JSON.parse(rawFinal)) : undefined;
    const view: DocumentView = {
      id: documentId,
      title: meta.title,
      status: final ? 'completed' : 'processing',
      // Every field but meta and final is a chunk's.
      chunks: { total: meta.chunkCount, analysed: fieldCount - 1 - (final ? 1 : 0) },
      createdAt: meta.createdAt,
      ...(final ? { completedAt: final.completedAt, report: final.report } : {}),
    };
    return { view, tenant: meta.tenant };
  }
}

function unknownDocument(documentId: string): PermanentTaskError {
  return new PermanentTaskError(`no document "${documentId}": docs.ingest never created it, or it expired`, 'UNKNOWN_DOCUMENT');
}

/** The statistics of chunks 0 … chunkCount - 1, in order, or undefined while one is missing. */
function chunkStatistics(fields: Record<string, string>, chunkCount: number): ChunkStatistics[] | undefined {
  const chunks: ChunkStatistics[] = [];
  for (let index = 0; index < chunkCount; index++) {
    const field = fields[`chunk:${index}`];
    if (field === undefined) return undefined;
    chunks.push(ChunkStatisticsSchema.parse(JSON.parse(field)));
  }
  return chunks;
}
