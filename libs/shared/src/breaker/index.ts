export {
  CIRCUIT_GAUGE_VALUE,
  CircuitStateSchema,
  circuitStateAt,
  parseSharedCircuit,
  SHARED_CIRCUIT_FIELDS,
  sharedCircuitFields,
  type CircuitState,
  type SharedCircuit,
} from './circuit-state';
export { CircuitEventSchema, encodeCircuitEvent, parseCircuitEvent, type CircuitEvent } from './circuit-events';
export { readCircuitStates, readSharedCircuits } from './read-circuits';
