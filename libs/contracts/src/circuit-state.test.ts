import { describe, expect, it } from 'vitest';
import { encodeCircuitEvent, parseCircuitEvent } from './circuit-events';
import { circuitStateAt, parseSharedCircuit, SHARED_CIRCUIT_FIELDS, sharedCircuitFields } from './circuit-state';

describe('the shared circuit record', () => {
  const record = { openedAt: 1000, until: 3000, origin: 'host:1', reason: '4 of 4 runs failed' };

  it('round-trips through its hash fields', () => {
    const fields = sharedCircuitFields(record);
    expect(parseSharedCircuit(SHARED_CIRCUIT_FIELDS.map((field) => fields[field]))).toEqual(record);
  });

  it('is absent (closed) when the key is missing or garbled', () => {
    expect(parseSharedCircuit([null, null, null, null])).toBeUndefined();
    expect(parseSharedCircuit(['1000', 'soon', 'host:1', 'x'])).toBeUndefined();
  });

  it('reads open until `until`, half-open from then on, closed without a record', () => {
    expect(circuitStateAt(record, 2999)).toBe('open');
    expect(circuitStateAt(record, 3000)).toBe('half-open');
    expect(circuitStateAt(undefined, 3000)).toBe('closed');
  });
});

describe('circuit events on the breaker channel', () => {
  it('round-trip', () => {
    const open = { role: 'downstream', to: 'open', until: 5000, origin: 'host:1', reason: 'the probe failed' } as const;
    const closed = { role: 'downstream', to: 'closed', origin: 'host:2', reason: 'the probe succeeded' } as const;
    expect(parseCircuitEvent(encodeCircuitEvent(open))).toEqual(open);
    expect(parseCircuitEvent(encodeCircuitEvent(closed))).toEqual(closed);
  });

  it('ignore anything else', () => {
    expect(parseCircuitEvent('not json')).toBeUndefined();
    expect(parseCircuitEvent(JSON.stringify({ role: 'downstream', to: 'half-open', origin: 'x', reason: 'y' }))).toBeUndefined();
    expect(parseCircuitEvent(JSON.stringify({ role: 'downstream', to: 'open', origin: 'x', reason: 'no until' }))).toBeUndefined();
    expect(parseCircuitEvent(JSON.stringify({ role: 'Bad Name', to: 'closed', origin: 'x', reason: 'y' }))).toBeUndefined();
  });
});
