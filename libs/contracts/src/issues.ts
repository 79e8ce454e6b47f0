import type { z } from 'zod';

/** One problem with a value: where (a dotted path, '' for the value itself) and what. */
export interface Issue {
  path: string;
  message: string;
}

/** A zod error as a list of issues, each naming its path. */
export function toIssues(error: z.ZodError): Issue[] {
  return error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));
}
