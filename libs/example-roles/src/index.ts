/** @taskyard/example-roles: the roles Taskyard ships (echo and the document pipeline) and the document store they write. */
export { builtInRoles } from './built-in-roles';
export { echoRole, EchoPayloadSchema, EchoResultSchema } from './echo';
export { docsAnalyzeRole, docsIngestRole, DocsIngestPayloadSchema, docsStoreRole } from './docs/docs-roles';
export { DOCUMENT_TTL_SECONDS, DocumentStore, DocumentViewSchema, type AnalysedChunk, type DocumentView, type NewDocument, type StoredDocument } from './docs/document-store';
export { DEFAULT_CHUNK_CHARS, MAX_CHUNK_CHARS, MAX_CHUNKS, MAX_DOCUMENT_CHARS, MAX_FANOUT_CHUNKS, MIN_CHUNK_CHARS } from './docs/document-limits';
export { analyseChunk, mergeStatistics, splitIntoChunks, type ChunkStatistics, type DocumentReport } from './docs/text-statistics';
