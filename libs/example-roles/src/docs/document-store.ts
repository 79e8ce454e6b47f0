import type { Cluster, Redis } from 'ioredis';
import { z } from 'zod';
import { ChunkStatisticsSchema, DocumentReportSchema, mergeStatistics, type ChunkStatistics } from './text-statistics';

/** How long a document's record and report are kept. */
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

const MetaSchema = z.object({ title: z.string(), chunkCount: z.number().int(), createdAt: z.string() });
const FinalSchema = z.object({ completedAt: z.string(), report: DocumentReportSchema });

/**
 * The storage layer of the document pipeline: one Redis hash per document with its metadata,
 * one field per analysed chunk, and the final report once every chunk is in. Writes are
 * idempotent, so a redelivered task cannot corrupt a document.
 */
export class DocumentStore {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly prefix: string,
  ) {}

  key(documentId: string): string {
    return `${this.prefix}:docs:${documentId}`;
  }

  async create(documentId: string, title: string, chunkCount: number): Promise<void> {
    const meta = JSON.stringify({ title, chunkCount, createdAt: new Date().toISOString() });
    await this.redis.multi().hsetnx(this.key(documentId), 'meta', meta).expire(this.key(documentId), DOCUMENT_TTL_SECONDS).exec();
  }

  /** Stores one chunk's statistics; when it was the last one missing, writes the report. Returns whether the document is complete. */
  async saveChunk(documentId: string, chunkIndex: number, stats: ChunkStatistics): Promise<boolean> {
    const key = this.key(documentId);
    await this.redis.hset(key, `chunk:${chunkIndex}`, JSON.stringify(stats));
    const fields = await this.redis.hgetall(key);
    const meta = MetaSchema.parse(JSON.parse(fields['meta'] ?? 'null'));
    const chunks = chunkFields(fields);
    if (chunks.length < meta.chunkCount) return false;
    if (!fields['final']) {
      const final = { completedAt: new Date().toISOString(), report: mergeStatistics(chunks) };
      await this.redis.hsetnx(key, 'final', JSON.stringify(final));
    }
    return true;
  }

  async read(documentId: string): Promise<DocumentView | undefined> {
    const fields = await this.redis.hgetall(this.key(documentId));
    if (!fields['meta']) return undefined;
    const meta = MetaSchema.parse(JSON.parse(fields['meta']));
    const final = fields['final'] ? FinalSchema.parse(JSON.parse(fields['final'])) : undefined;
    return {
      id: documentId,
      title: meta.title,
      status: final ? 'completed' : 'processing',
      chunks: { total: meta.chunkCount, analysed: chunkFields(fields).length },
      createdAt: meta.createdAt,
      ...(final ? { completedAt: final.completedAt, report: final.report } : {}),
    };
  }
}

function chunkFields(fields: Record<string, string>): ChunkStatistics[] {
  return Object.entries(fields)
    .filter(([name]) => name.startsWith('chunk:'))
    .map(([, value]) => ChunkStatisticsSchema.parse(JSON.parse(value)));
}
