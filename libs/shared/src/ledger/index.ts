export { ledgerTimings, type LedgerTimings } from './ledger-ttl';
export {
  CancelledFromSchema,
  CancelledRecordSchema,
  DoneRecordSchema,
  MessageRecordSchema,
  parseMessageRecord,
  readMessageRecord,
  recordCancelled,
  type CancelledRecord,
  type DoneRecord,
  type MessageRecord,
} from './message-record';
export { EffectInDoubtError, EffectInProgressError, MAX_ONCE_KEY_LENGTH, runOnce, type OnceScope } from './once';
