/**
 * Onboarding and offboarding of an S3-compatible store (Materialize's guide "S3 compatible object storage"):
 * the access key comes from the worker's storage profile (platform/storage-profiles.ts), goes into two
 * Materialize secrets, and an AWS connection with ACCESS KEY ID, SECRET ACCESS KEY, ENDPOINT and REGION reads
 * them. No IAM, no VALIDATE CONNECTION (it calls STS, which these stores lack); the probe COPY proves access.
 * The key's values only ever travel from the worker to Materialize inside CREATE/ALTER SECRET; they are
 * registered as secrets when read, so no log line, result or failure carries them.
 */
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import type { Client } from 'pg';
import { ConflictError, UserFixableError } from '../../common/failures';
import type { CompatiblePreflight, CompatibleTarget, S3CompatibleActivities } from '../../common/onboarding/activities';
import {
  accessKeyConnectionCatalogSql,
  createAccessKeyConnectionSql,
  dropConnectionSql,
  dropSecretSql,
  secretsCatalogSql,
  setSecretSql,
  storageSecretNames,
} from '../../common/onboarding/sql';
import { withMaterialize } from '../../platform/materialize';
import { storageCredentials, StorageClients } from '../../platform/storage-profiles';
import { awsErrorName, isAccessDenied, isNotFound } from '../aws-errors';
import type { ActivityDeps } from '../deps';
import { heartbeating } from '../heartbeat';
import { isServerError, pgErrorText } from '../pg-errors';

interface AccessKeyConnectionRow {
  id: string;
  type: string;
  endpoint: string | null;
  region: string | null;
  access_key_id: string | null;
  access_key_id_secret_id: string | null;
  secret_access_key_secret_id: string | null;
  assume_role_arn: string | null;
}

/** The connection's two secrets that exist, by name; two of one name (different schemas) is a conflict. */
async function existingSecrets(c: Client, connectionName: string): Promise<Map<string, string>> {
  const names = storageSecretNames(connectionName);
  const rows = (await c.query<{ id: string; name: string }>(secretsCatalogSql([names.accessKeyId, names.secretAccessKey]))).rows;
  const byName = new Map<string, string>();
  for (const r of rows) {
    if (byName.has(r.name)) throw new ConflictError(`two secrets are named ${r.name} (in different schemas); choose another connectionName`);
    byName.set(r.name, r.id);
  }
  return byName;
}

/**
 * The existing connection of that name, when it is this project's access-key connection: it reads its key from
 * exactly the two secrets named after it. Anything else of that name is a conflict, left as it is.
 */
async function ourConnection(c: Client, connectionName: string): Promise<AccessKeyConnectionRow | undefined> {
  const rows = (await c.query<AccessKeyConnectionRow>(accessKeyConnectionCatalogSql(connectionName))).rows;
  if (rows.length > 1) throw new ConflictError(`${rows.length} connections are named ${connectionName} (in different schemas); choose another connectionName`);
  const row = rows[0];
  if (!row) return undefined;
  const secrets = await existingSecrets(c, connectionName);
  const names = storageSecretNames(connectionName);
  const ours =
    row.type === 'aws' &&
    row.assume_role_arn === null &&
    row.access_key_id_secret_id !== null &&
    row.access_key_id_secret_id === secrets.get(names.accessKeyId) &&
    row.secret_access_key_secret_id === secrets.get(names.secretAccessKey);
  if (!ours) {
    throw new ConflictError(
      `connection ${connectionName} exists but is not an access-key connection reading secrets ${names.accessKeyId} and ${names.secretAccessKey} (${row.assume_role_arn ? `it assumes role ${row.assume_role_arn}` : `a ${row.type} connection`}); choose another connectionName, or drop that connection`,
    );
  }
  return row;
}

export function createS3CompatibleActivities(deps: ActivityDeps): S3CompatibleActivities {
  const storage = deps.storage ?? new StorageClients({});
  const mz = <T>(profile: string, fn: (c: Client) => Promise<T>) => withMaterialize(deps.materialize, profile, fn);

  return heartbeating({
    async preflightCompatibleOnboarding(input: CompatibleTarget & { bucket: string; prefix: string }): Promise<CompatiblePreflight> {
      const profile = storage.profile(input.storageProfile);
      await storageCredentials(profile); // a credentials file that cannot be read is reported before any write
      try {
        await storage.s3(input.storageProfile).send(new HeadBucketCommand({ Bucket: input.bucket }));
      } catch (e) {
        const where = `bucket ${input.bucket} at ${profile.endpoint} (storage profile ${profile.name})`;
        if (isNotFound(e)) throw new UserFixableError(`${where} does not exist; create it with the store's own tools (onboarding creates buckets on AWS S3 only)`);
        if (isAccessDenied(e) || awsErrorName(e) === 'InvalidAccessKeyId' || awsErrorName(e) === 'SignatureDoesNotMatch')
          throw new UserFixableError(
            `${where} refused the profile's access key (${awsErrorName(e) || 'denied'}); give the key read, write, list and delete access to the bucket, or fix the profile's credentials`,
          );
        throw e;
      }
      return mz(input.materializeProfile, async (c) => {
        const existing = await ourConnection(c, input.connectionName);
        if (existing && (existing.endpoint !== profile.materializeEndpoint || existing.region !== profile.region)) {
          throw new ConflictError(
            `connection ${input.connectionName} points at ${existing.endpoint} (region ${existing.region}), storage profile ${profile.name} at ${profile.materializeEndpoint} (region ${profile.region}); offboard it and onboard again, or choose another connectionName`,
          );
        }
        return { endpoint: profile.materializeEndpoint, region: profile.region, connectionExists: Boolean(existing) };
      });
    },

    async ensureMzStorageSecrets(input: CompatibleTarget): Promise<{ secrets: string[]; change: string }> {
      const key = await storageCredentials(storage.profile(input.storageProfile));
      const names = storageSecretNames(input.connectionName);
      return mz(input.materializeProfile, async (c) => {
        const existing = await existingSecrets(c, input.connectionName);
        const values: [string, string][] = [
          [names.accessKeyId, key.accessKeyId],
          [names.secretAccessKey, key.secretAccessKey],
        ];
        for (const [name, value] of values) {
          try {
            await c.query(setSecretSql(name, value, existing.has(name)));
          } catch (e) {
            // pg's error never repeats the statement; the text is Materialize's message about the secret.
            if (isServerError(e)) throw new UserFixableError(`could not set secret ${name}: ${pgErrorText(e)}`);
            throw e;
          }
        }
        const secrets = [names.accessKeyId, names.secretAccessKey];
        const change =
          existing.size === 0
            ? `secrets ${secrets.join(', ')}: created from storage profile ${input.storageProfile}'s access key`
            : `secrets ${secrets.join(', ')}: set to storage profile ${input.storageProfile}'s current access key (ALTER SECRET; the connection reads it at its next use)`;
        return { secrets, change };
      });
    },

    async ensureMzAccessKeyConnection(input: CompatibleTarget): Promise<{ connectionId: string; change?: string }> {
      const profile = storage.profile(input.storageProfile);
      return mz(input.materializeProfile, async (c) => {
        const existing = await ourConnection(c, input.connectionName);
        if (existing) return { connectionId: existing.id };
        try {
          await c.query(createAccessKeyConnectionSql(input.connectionName, profile.materializeEndpoint, profile.region));
        } catch (e) {
          if (!/already exists/i.test(pgErrorText(e))) {
            if (isServerError(e)) throw new UserFixableError(`CREATE CONNECTION ${input.connectionName} failed: ${pgErrorText(e)}`);
            throw e;
          }
        }
        const created = await ourConnection(c, input.connectionName);
        if (!created) throw new Error(`connection ${input.connectionName} is not in the catalog right after CREATE CONNECTION; retrying`);
        return {
          connectionId: created.id,
          change: `connection ${input.connectionName}: created (${created.id}) for ${profile.materializeEndpoint}, region ${profile.region}`,
        };
      });
    },

    async dropMzAccessKeyConnection(input: Omit<CompatibleTarget, 'storageProfile'>): Promise<{ connectionDropped: boolean; secretsDropped: string[] }> {
      return mz(input.materializeProfile, async (c) => {
        const existing = await ourConnection(c, input.connectionName); // refuses anything that is not ours
        try {
          if (existing) await c.query(dropConnectionSql(input.connectionName));
          const secretsDropped: string[] = [];
          for (const name of (await existingSecrets(c, input.connectionName)).keys()) {
            await c.query(dropSecretSql(name));
            secretsDropped.push(name);
          }
          return { connectionDropped: Boolean(existing), secretsDropped };
        } catch (e) {
          if (isServerError(e)) {
            throw new UserFixableError(`dropping connection ${input.connectionName} or its secrets failed: ${pgErrorText(e)}; drop what depends on it first`);
          }
          throw e;
        }
      });
    },
  });
}
