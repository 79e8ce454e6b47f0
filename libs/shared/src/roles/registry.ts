import { RoleRegistry } from '../contracts/role';
import { docsAnalyzeRole, docsIngestRole, docsStoreRole } from './docs/docs-roles';
import { echoRole } from './echo';

/**
 * Every role Taskyard knows. To add a role: write `roles/<name>.ts` with defineRole(...) and add
 * it to this list. The API then accepts its tasks and `npm run worker` runs it.
 */
export const roleRegistry = new RoleRegistry([
  echoRole,
  docsIngestRole,
  docsAnalyzeRole,
  docsStoreRole,
]);
