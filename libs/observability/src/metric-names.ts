/** Metric names live here so dashboards, alerts and tests agree on them. */
export const METRIC = Object.freeze({
  tasksProcessed: 'taskyard_tasks_processed_total',
  taskDuration: 'taskyard_task_duration_seconds',
  tasksActive: 'taskyard_tasks_active',
  tasksStalled: 'taskyard_tasks_stalled_total',
  isolatedLosses: 'taskyard_isolated_children_lost_total',
  deadLetters: 'taskyard_dead_letters_total',
  duplicatesSkipped: 'taskyard_duplicates_skipped_total',
  circuitState: 'taskyard_circuit_state',
  circuitTransitions: 'taskyard_circuit_transitions_total',
  circuitHandBacks: 'taskyard_circuit_handbacks_total',
  tasksSubmitted: 'taskyard_tasks_submitted_total',
  queueJobs: 'taskyard_queue_jobs',
  httpRequests: 'taskyard_http_requests_total',
  httpDuration: 'taskyard_http_request_duration_seconds',
  authRefusals: 'taskyard_auth_refusals_total',
  messagesRefused: 'taskyard_messages_refused_total',
});
