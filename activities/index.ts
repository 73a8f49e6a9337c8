/**
 * All activities, created from injected clients. Each area adds its factory here; workflows import only the
 * type (`import type { Activities }`), never this module's code.
 */
import type { ActivityDeps } from './deps';
import { createHealthActivities } from './health';

export type { ActivityDeps } from './deps';

export function createActivities(deps: ActivityDeps) {
  return {
    ...createHealthActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
