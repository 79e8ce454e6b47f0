export { canonicalJson, jsonDepthExceeds, JsonDepthError, MAX_JSON_DEPTH } from './canonical-json';
export { parseNamedSecrets, MIN_SECRET_LENGTH, type NamedSecret } from './key-ring';
export { MessageSigner, SIGNATURE_ALGORITHM, type MessageSignature } from './message-signer';
