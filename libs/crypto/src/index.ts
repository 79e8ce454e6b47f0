/** @taskyard/crypto: signing and verifying messages (HMAC-SHA256 over canonical JSON), and the keys that do it. */
export { bearerTokenMatches } from './bearer-token';
export { sha256 } from './digest';
export { canonicalJson, JsonDepthError } from './canonical-json';
export { KEY_ID_PATTERN, MIN_SECRET_LENGTH, parseNamedSecrets, type NamedSecret } from './key-ring';
export { MessageSigner } from './message-signer';
export { createMessage, deriveMessage, type NewMessage } from './messages';
export { derivedTaskId } from './derived-task-id';
export { openMessage, type MessageTarget } from './open-message';
