import { describe, expect, it } from 'vitest';
import { acceptsSource, AcceptFromSchema } from './access';

describe('acceptsSource', () => {
  it('takes anyone when a role names no sources', () => {
    expect(acceptsSource(undefined, 'api:anyone')).toBe(true);
  });

  it('matches exact sources and api:* / role:* wildcards, nothing else', () => {
    const acceptFrom = ['api:partner', 'role:*'];
    expect(acceptsSource(acceptFrom, 'api:partner')).toBe(true);
    expect(acceptsSource(acceptFrom, 'role:docs.ingest')).toBe(true);
    expect(acceptsSource(acceptFrom, 'api:main')).toBe(false);
    expect(acceptsSource(acceptFrom, 'api:partner2')).toBe(false);
    expect(acceptsSource(['api:*'], 'role:x')).toBe(false);
  });

  it('validates patterns', () => {
    expect(AcceptFromSchema.safeParse(['api:main', 'role:docs.ingest', 'api:*']).success).toBe(true);
    for (const bad of [[], ['*'], ['user:bob'], ['api:'], ['role:a b']]) expect(AcceptFromSchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
  });
});

describe('acceptsSource for schedules', () => {
  it("takes an exact schedule:<id> from an operator's schedule only; a tenant's schedule passes schedule:* alone", () => {
    expect(acceptsSource(['schedule:nightly'], 'schedule:nightly')).toBe(true);
    expect(acceptsSource(['schedule:nightly'], 'schedule:nightly', 'acme')).toBe(false);
    expect(acceptsSource(['schedule:*'], 'schedule:nightly', 'acme')).toBe(true);
    expect(acceptsSource(['role:docs.ingest'], 'role:docs.ingest', 'acme')).toBe(true);
    expect(AcceptFromSchema.safeParse(['schedule:nightly', 'schedule:*']).success).toBe(true);
  });
});
