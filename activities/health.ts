/** Reachability checks the worker runs on behalf of `mz-s3-export doctor` and the foundation tests. */
import { ListBucketsCommand } from '@aws-sdk/client-s3';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { withMaterialize } from '../platform/materialize';
import { redactUrlsIn } from '../platform/connection-url';
import type { ActivityDeps } from './deps';
import type { DependencyReport, HealthActivities } from '../common/activities';

export function createHealthActivities({ aws, materialize }: ActivityDeps): HealthActivities {
  return {
    async checkDependencies(input: { materializeProfile?: string }): Promise<DependencyReport> {
      const attempt = async <T extends object>(fn: () => Promise<T>) => {
        try {
          return { ok: true, ...(await fn()) };
        } catch (e) {
          return { ok: false, error: redactUrlsIn((e as Error).message) };
        }
      };
      const [s3, sts, mz] = await Promise.all([
        attempt(async () => ({ buckets: (await aws.s3.send(new ListBucketsCommand({}))).Buckets?.length ?? 0 })),
        attempt(async () => ({ account: (await aws.sts.send(new GetCallerIdentityCommand({}))).Account })),
        attempt(async () =>
          withMaterialize(materialize, input.materializeProfile, async (c) => ({
            version: String((await c.query('SELECT version() AS v')).rows[0].v),
          })),
        ),
      ]);
      return { s3, sts, materialize: { ...mz, target: materialize.describe(input.materializeProfile) } };
    },
  };
}
