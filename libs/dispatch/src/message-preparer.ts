import {
  acceptsSource,
  DispatchError,
  hasScope,
  maySubmitTo,
  jsonDepthExceeds,
  MAX_JSON_DEPTH,
  TaskOptionsSchema,
  toIssues,
  type Principal,
  type SubmitMetadata,
  type TaskAccepted,
  type TaskMessage,
  type TaskOptions,
} from '@taskyard/contracts';
import type { TaskyardConfig } from '@taskyard/config';
import { createMessage, deriveMessage, type MessageSigner } from '@taskyard/crypto';
import type { AnyRole, RoleRegistry } from '@taskyard/roles';
import { jobOptionsFor, type QueuedJob } from '@taskyard/store';
import { senderOf, sourceOf, type Origin } from './origin';

/** One message to make: for a role, with its payload and (for new work) its metadata. */
export interface DispatchRequest {
  role: string;
  payload: unknown;
  options?: TaskOptions | undefined;
  /** New work only (an `api` origin): correlation id, tenant and labels; derived messages inherit their parent's. */
  metadata?: SubmitMetadata | undefined;
  /** New work only: the workflow the task is a node of (derived messages inherit their parent's). */
  workflowId?: string | undefined;
  /** The message id, for a run-time fan-out's children and a schedule's runs (see derivedTaskId); else a new one. */
  id?: string | undefined;
}

/** A message made, signed and checked, with its job options and the 202 entry that answers it. */
export interface PreparedTask extends QueuedJob {
  accepted: TaskAccepted;
}

export interface MessagePreparerDeps {
  /** The deployment's roles, with its settings applied. */
  registry: RoleRegistry;
  signer: MessageSigner;
  config: Pick<TaskyardConfig, 'retention'>;
}

/**
 * The dispatcher's checks and making, without Redis: resolve the role → check access (its
 * acceptFrom) → validate the payload (depth, schema) and a handler's options → make or derive
 * the message and sign it → job options. The Dispatcher runs it before it admits and enqueues;
 * `runRole` (@taskyard/testing) runs it for a handler's sends, so a unit test refuses what the
 * platform would. Refusals are DispatchErrors.
 */
export class MessagePreparer {
  constructor(private readonly deps: MessagePreparerDeps) {}

  /**
   * Checks every request and makes its signed message and job options: one refusal refuses them
   * all. In a batch (`batch: true`) errors name the task's index and its fields as
   * `tasks.<i>.<field>`; an unknown role is then an invalid task, not a missing resource.
   */
  prepare(origin: Origin, requests: readonly DispatchRequest[], { batch = false }: { batch?: boolean } = {}): PreparedTask[] {
    this.checkMaySubmit(origin);
    return requests.map((request, index) => this.prepareOne(origin, request, batch ? index : undefined));
  }

  /** A key that may submit nowhere is refused before anything about the roles (which exist, what they take) is said. */
  checkMaySubmit(origin: Origin): void {
    if (origin.kind === 'api' && !canSubmitAnywhere(origin.principal)) {
      throw new DispatchError('FORBIDDEN', 'this API key lacks the scope "tasks:submit" (or "tasks:submit:<role>")', { scope: 'tasks:submit' });
    }
  }

  /**
   * Publishes `payload` to `topic`: one request for every subscribing role, under one correlation
   * id (new work gets `correlationId`, derived messages keep their parent's).
   */
  topicRequests(topic: string, request: Omit<DispatchRequest, 'role'>): DispatchRequest[] {
    const subscribers = this.deps.registry.subscribersOf(topic);
    if (subscribers.length === 0) {
      throw new DispatchError('UNKNOWN_TOPIC', `no role subscribes to topic "${topic}"`, { topics: this.deps.registry.topics() });
    }
    return subscribers.map((role) => ({ ...request, role: role.name }));
  }

  /**
   * A schedule's runs, checked when the schedule is upserted: the upserting key's submit scope
   * for the role, then one run made as the schedule will make it (its acceptFrom sees
   * `schedule:<id>`, its payload and options are the role's). Enqueues nothing.
   */
  checkScheduled(principal: Principal, origin: Origin & { kind: 'schedule' }, request: DispatchRequest): PreparedTask {
    const api: Origin = { kind: 'api', principal };
    this.checkMaySubmit(api);
    this.checkScope(api, this.role(request.role, undefined), undefined);
    return this.prepareOne(origin, request, undefined);
  }

  /** The job of an already signed message (a dead letter's claimed replay): its role's job options. */
  jobOf(message: TaskMessage): QueuedJob {
    return { message, options: jobOptionsFor(this.role(message.role, undefined), message.id, this.deps.config.retention) };
  }

  private prepareOne(origin: Origin, request: DispatchRequest, index: number | undefined): PreparedTask {
    const role = this.role(request.role, index);
    this.checkScope(origin, role, index);
    this.checkAccess(origin, role, index);
    const payload = this.validate(role, request.payload, index);
    const taskOptions = this.checkLimits(role, origin.kind === 'api' ? request.options : this.checkOptions(request.options, index), index);
    const message = this.makeMessage(origin, role, payload, request, index);
    const options = jobOptionsFor(role, message.id, this.deps.config.retention, taskOptions, message.metadata.tenant);
    const state = (options.delay ?? 0) > 0 ? 'delayed' : 'queued';
    return { message, options, accepted: { id: message.id, role: role.name, state } };
  }

  private role(name: string, index: number | undefined): AnyRole {
    const role = this.deps.registry.get(name);
    if (role) return role;
    const known = this.deps.registry.names();
    if (index === undefined) throw new DispatchError('UNKNOWN_ROLE', `no role named "${name}"`, { known });
    throw new DispatchError('INVALID', `task ${index}: no role named "${name}"`, [
      { index, field: field(index, 'role'), message: `unknown role; known: ${known.join(', ')}` },
    ]);
  }

  /** New work from an API key needs `tasks:submit` or `tasks:submit:<role>`; the refusal names the narrower scope. */
  private checkScope(origin: Origin, role: AnyRole, index: number | undefined): void {
    if (origin.kind !== 'api' || maySubmitTo(origin.principal, role.name)) return;
    throw new DispatchError('FORBIDDEN', `${where(index)}this API key lacks the scope "tasks:submit:${role.name}" (or "tasks:submit")`, {
      ...(index === undefined ? {} : { index }),
      field: field(index, 'role'),
      scope: `tasks:submit:${role.name}`,
    });
  }

  /** The role's acceptFrom; the refusal does not list it (it names other keys). */
  private checkAccess(origin: Origin, role: AnyRole, index: number | undefined): void {
    if (acceptsSource(role.acceptFrom, sourceOf(origin), origin.kind === 'schedule' ? origin.tenant : undefined)) return;
    throw new DispatchError('FORBIDDEN', `${where(index)}${senderOf(origin)} may not send tasks to role "${role.name}"`, {
      ...(index === undefined ? {} : { index }),
      field: field(index, 'role'),
    });
  }

  /** What a sender may ask of the role: at most its maxAttempts attempts, at most its maxDelayMs delay, no priority of a fair role's task. */
  private checkLimits(role: AnyRole, options: TaskOptions | undefined, index: number | undefined): TaskOptions | undefined {
    const problems: { field: string; message: string }[] = [];
    if (options?.attempts !== undefined && options.attempts > role.maxAttempts) {
      problems.push({ field: field(index, 'options.attempts'), message: `at most ${role.maxAttempts} for role "${role.name}"` });
    }
    if (options?.delayMs !== undefined && options.delayMs > role.maxDelayMs) {
      problems.push({ field: field(index, 'options.delayMs'), message: `at most ${role.maxDelayMs} ms for role "${role.name}"` });
    }
    // A debounced task waits its window: that is its delay, so it takes no other.
    if (options?.dedupe?.mode === 'debounce' && options.delayMs !== undefined) {
      problems.push({ field: field(index, 'options.delayMs'), message: 'a debounced task waits its dedupe window (ttlMs): leave delayMs out' });
    }
    if (options?.dedupe?.mode === 'debounce' && options.dedupe.ttlMs! > role.maxDelayMs) {
      problems.push({ field: field(index, 'options.dedupe.ttlMs'), message: `at most ${role.maxDelayMs} ms for role "${role.name}" (a debounced task waits that long)` });
    }
    // A fair role orders its tasks by their tenants' turns (the priority is the turn): a priority of the task's own would take the place of its turn.
    if (role.fair && options?.priority !== undefined) {
      problems.push({ field: field(index, 'options.priority'), message: `role "${role.name}" is fair: its tasks take their tenant's turn, leave priority out` });
    }
    if (problems.length === 0) return options;
    throw new DispatchError(
      'INVALID',
      `${where(index)}options exceed role "${role.name}"'s limits (${problems.map((problem) => `${problem.field}: ${problem.message}`).join('; ')})`,
      problems.map((problem) => ({ ...(index === undefined ? {} : { index }), ...problem })),
    );
  }

  private validate(role: AnyRole, payload: unknown, index: number | undefined): unknown {
    if (jsonDepthExceeds(payload, MAX_JSON_DEPTH)) {
      throw new DispatchError('INVALID', `${where(index)}payload is nested deeper than ${MAX_JSON_DEPTH} levels`, [
        { ...(index === undefined ? {} : { index }), field: field(index, 'payload'), message: 'too deeply nested' },
      ]);
    }
    const parsed = role.input.safeParse(payload);
    if (parsed.success) return parsed.data;
    const issues = toIssues(parsed.error);
    const details = issues.map((issue) => ({
      ...(index === undefined ? {} : { index }),
      field: [field(index, 'payload'), issue.path].filter(Boolean).join('.'),
      message: issue.message,
    }));
    const summary = issues.map((issue) => `${issue.path || '(payload)'}: ${issue.message}`).join('; ');
    throw new DispatchError('INVALID', `${where(index)}payload does not match role "${role.name}" (${summary})`, details);
  }

  /** A handler's send options are bounded like a client's (the API's body schema checks theirs). */
  private checkOptions(options: TaskOptions | undefined, index: number | undefined): TaskOptions | undefined {
    if (options === undefined) return undefined;
    const parsed = TaskOptionsSchema.safeParse(options);
    if (parsed.success) return parsed.data;
    const issues = toIssues(parsed.error);
    throw new DispatchError(
      'INVALID',
      `${where(index)}options are out of bounds (${issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')})`,
      issues.map((issue) => ({ ...(index === undefined ? {} : { index }), field: [field(index, 'options'), issue.path].filter(Boolean).join('.'), message: issue.message })),
    );
  }

  /**
   * New work is owned by its key and belongs to the key's tenant (a tenant key may not name
   * another); an operator key (no tenant) may name the tenant it submits for. Derived messages
   * keep their parent's tenant; a replay is owned by the key that replays it.
   */
  private makeMessage(origin: Origin, role: AnyRole, payload: unknown, request: DispatchRequest, index: number | undefined): TaskMessage {
    const source = sourceOf(origin);
    const { metadata, workflowId } = request;
    if (origin.kind === 'role') return deriveMessage(origin.parent, { role: role.name, payload, source, id: request.id }, this.deps.signer);
    if (origin.kind === 'replay') return deriveMessage(origin.parent, { role: role.name, payload, source, owner: origin.principal.keyId }, this.deps.signer);
    if (origin.kind === 'schedule') {
      // New work each slot, labelled with its schedule and slot so a handler (and a search) can tell.
      const labels = { schedule: origin.scheduleId, 'scheduled-for': new Date(origin.scheduledFor).toISOString() };
      return createMessage({ role: role.name, payload, source, owner: origin.owner, tenant: origin.tenant, labels, id: request.id }, this.deps.signer);
    }
    const { keyId, tenant: keyTenant } = origin.principal;
    if (keyTenant !== undefined && metadata?.tenant !== undefined && metadata.tenant !== keyTenant) {
      throw new DispatchError('FORBIDDEN', `${where(index)}this API key submits for its own tenant only: leave metadata.tenant out or set it to the key's tenant`, {
        ...(index === undefined ? {} : { index }),
        field: field(index, 'metadata.tenant'),
      });
    }
    return createMessage(
      { role: role.name, payload, source, owner: keyId, correlationId: metadata?.correlationId, tenant: keyTenant ?? metadata?.tenant, labels: metadata?.labels, workflowId },
      this.deps.signer,
    );
  }
}

function canSubmitAnywhere(principal: Principal): boolean {
  return hasScope(principal, 'tasks:submit') || [...principal.scopes].some((scope) => scope.startsWith('tasks:submit:'));
}

function field(index: number | undefined, name: string): string {
  return index === undefined ? name : `tasks.${index}.${name}`;
}

function where(index: number | undefined): string {
  return index === undefined ? '' : `task ${index}: `;
}
