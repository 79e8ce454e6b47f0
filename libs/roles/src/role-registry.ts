import { RoleSettingsSchema, type RoleSettings } from '@taskyard/contracts';
import type { AnyRole } from './define-role';

/**
 * The roles of a deployment, by name. It keeps their types: a registry made of `[echoRole,
 * docsIngestRole]` answers `role('echo')` with echo's definition, schemas and all.
 */
export class RoleRegistry<out R extends AnyRole = AnyRole> {
  private readonly byName: ReadonlyMap<string, R>;
  private readonly byTopic: ReadonlyMap<string, readonly R[]>;

  constructor(roles: readonly R[]) {
    const byName = new Map<string, R>();
    const byTopic = new Map<string, R[]>();
    for (const role of roles) {
      if (byName.has(role.name)) throw new Error(`role "${role.name}" is registered twice`);
      byName.set(role.name, role);
      for (const topic of role.topics ?? []) {
        let subscribers = byTopic.get(topic);
        if (!subscribers) byTopic.set(topic, (subscribers = []));
        subscribers.push(role);
      }
    }
    this.byName = byName;
    this.byTopic = byTopic;
  }

  get(name: string): R | undefined {
    return this.byName.get(name);
  }

  /** The role named `name` with its own definition's types (its schemas, its name); throws for a name it does not have. */
  role<N extends R['name']>(name: N): Extract<R, { name: N }> {
    const role = this.byName.get(name);
    if (!role) throw new Error(`unknown role "${name}"`);
    return role as Extract<R, { name: N }>;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  all(): R[] {
    return [...this.byName.values()];
  }

  /** The roles subscribed to `topic`, in registration order. */
  subscribersOf(topic: string): readonly R[] {
    return this.byTopic.get(topic) ?? [];
  }

  /** Every topic some role subscribes to, sorted. */
  topics(): string[] {
    return [...this.byTopic.keys()].sort();
  }

  /**
   * The same roles with a deployment's settings applied (ROLE_<ROLE>_<SETTING>); the result is
   * validated like a role definition, so a bad combination fails at start naming the role.
   */
  withSettings(settingsFor: (role: R) => RoleSettings): RoleRegistry<R> {
    return new RoleRegistry(
      this.all().map((role) => {
        const settings = RoleSettingsSchema.safeParse(settingsFor(role));
        if (!settings.success) {
          const problems = settings.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
          throw new Error(`role "${role.name}" has invalid settings: ${problems.join('; ')}`);
        }
        return Object.freeze({ ...role, ...settings.data }) as R;
      }),
    );
  }

  /** A registry of just the named roles (e.g. a worker's ROLES). */
  select(names: readonly string[]): RoleRegistry<R> {
    return new RoleRegistry(
      names.map((name) => {
        const role = this.byName.get(name);
        if (!role) throw new Error(`unknown role "${name}"`);
        return role;
      }),
    );
  }
}
