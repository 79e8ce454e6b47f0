import { RoleRegistry } from '@taskyard/roles';
import { docsAnalyzeRole, docsIngestRole, docsStoreRole } from './docs/docs-roles';
import { echoRole } from './echo';

/**
 * The roles Taskyard ships: `echo` for smoke tests, demos and benchmarks, and the layered document
 * pipeline. A deployment adds its own with ROLE_MODULES (see README, "Adding a role").
 */
export const builtInRoles = new RoleRegistry([echoRole, docsIngestRole, docsAnalyzeRole, docsStoreRole]);
