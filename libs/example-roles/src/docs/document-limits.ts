/**
 * The sizes the document pipeline accepts, defined once for every schema that checks them: a
 * payload from outside (or a forged one) can neither be bigger than a real document's nor claim
 * more chunks than one can have.
 */

/** The longest text docs.ingest takes, in characters. */
export const MAX_DOCUMENT_CHARS = 1_000_000;

/** The smallest chunk size docs.ingest takes (`chunkSize`, characters). */
export const MIN_CHUNK_CHARS = 200;

/** The largest chunk size docs.ingest takes, so the longest text a docs.analyze task can carry. */
export const MAX_CHUNK_CHARS = 50_000;

/** docs.ingest's chunk size when the payload gives none. */
export const DEFAULT_CHUNK_CHARS = 4000;

/**
 * splitIntoChunks never cuts in the first tenth of its window (it would make tiny chunks), so
 * every chunk but the last is longer than a tenth of the chunk size.
 */
export const MIN_CUT_DIVISOR = 10;

/**
 * The most chunks a document can be split into: the longest text at the smallest chunk size,
 * each chunk but the last as short as the split allows.
 */
export const MAX_CHUNKS = Math.ceil(MAX_DOCUMENT_CHARS / (Math.floor(MIN_CHUNK_CHARS / MIN_CUT_DIVISOR) + 1));

/**
 * The most chunks docs.ingest takes a document in: it fans out two tasks per chunk (docs.store
 * after docs.analyze), and 1000 tasks is the default WORKFLOW_MAX_NODES. A longer text needs a
 * larger chunkSize (a megabyte fits at 2000 characters and up); the submission says so.
 */
export const MAX_FANOUT_CHUNKS = 500;
