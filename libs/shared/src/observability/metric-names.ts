/** Metric names live here so dashboards, alerts and tests agree on them. */
export const METRIC = Object.freeze({
  tasksProcessed: 'taskyard_tasks_processed_total',
  taskDuration: 'taskyard_task_duration_seconds',
  tasksActive: 'taskyard_tasks_active',
  tasksStalled: 'taskyard_tasks_stalled_total',
  tasksSubmitted: 'taskyard_tasks_submitted_total',
  queueJobs: 'taskyard_queue_jobs',
  httpRequests: 'taskyard_http_requests_total',
  httpDuration: 'taskyard_http_request_duration_seconds',
});
