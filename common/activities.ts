/**
 * Every activity as workflows see it. Workflows type their proxies with these Node-free contracts (never with
 * `typeof` the implementations, whose types pull in Node, AWS and pg), so tsconfig.workflows.json can check
 * workflows/ and common/ without Node's types. activities/index.ts builds an object of exactly this type.
 */
import type { ExportActivities } from './export/activities';
import type { OnboardingActivities } from './onboarding/activities';
import type { RetentionActivities } from './retention/types';
import type { EventActivities } from './events/types';

/** Where a Materialize profile points: host, port and database only; a connection URL never leaves the worker. */
export interface ConnectionTarget {
  host: string;
  port: string;
  database: string;
}

export interface DependencyReport {
  s3: { ok: boolean; buckets?: number; error?: string };
  sts: { ok: boolean; account?: string; error?: string };
  materialize: { ok: boolean; version?: string; target: ConnectionTarget; error?: string };
}

export interface HealthActivities {
  checkDependencies(input: { materializeProfile?: string }): Promise<DependencyReport>;
}

export interface PauseAfterFailureInput {
  scheduleId: string;
  workflowId: string;
}

/** A scheduled run that failed pauses its schedule when the schedule has pauseOnFailure (activities/schedule-pause.ts). */
export interface ScheduleActivities {
  pauseScheduleAfterFailure(input: PauseAfterFailureInput): Promise<{ paused: boolean; reason: string }>;
}

export type Activities = HealthActivities & OnboardingActivities & ExportActivities & ScheduleActivities & RetentionActivities & EventActivities;
