export { roleRegistry } from './registry';
export { echoRole, EchoPayloadSchema, EchoResultSchema } from './echo';
export { docsIngestRole, docsAnalyzeRole, docsStoreRole, DocsIngestPayloadSchema } from './docs/docs-roles';
export { DocumentStore, DocumentViewSchema, DOCUMENT_TTL_SECONDS, type DocumentView } from './docs/document-store';
export { analyseChunk, mergeStatistics, splitIntoChunks, type ChunkStatistics, type DocumentReport } from './docs/text-statistics';
export { effectiveRoles } from './effective-registry';
export { loadRoleRegistry } from './role-modules';
