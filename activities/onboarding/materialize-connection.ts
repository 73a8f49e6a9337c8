/**
 * The Materialize side of onboarding and offboarding, over pg: CREATE/DROP/VALIDATE CONNECTION, the catalog
 * reads, and the permission probe COPY. SQL comes from common/onboarding/sql.ts (quoted, never spliced).
 */
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { Client } from 'pg';
import { ConflictError, InsecureTrustPolicyError, NotYetError, UserFixableError } from '../../common/failures';
import { assessTrustPolicy, parsePolicyDocument } from '../../common/iam-policies';
import { withMaterialize } from '../../platform/materialize';
import { classifyProbeFailure, classifyValidateFailure } from './connection-failures';
import { isServerError, pgErrorText } from '../pg-errors';
import {
  connectionCatalogSql,
  createConnectionSql,
  dropConnectionSql,
  probeCopySql,
  probeKeyPrefix,
  probeRunPrefix,
  validateConnectionSql,
} from '../../common/onboarding/sql';
import { s3Of, type ActivityDeps } from '../deps';
import { heartbeating } from '../heartbeat';
import { deleteObjectsUnder } from '../s3-folders';
import type { MaterializeConnectionActivities, MzConnectionInfo, ProbeInput, ProbeResult } from '../../common/onboarding/activities';

export interface CatalogRow {
  id: string;
  name: string;
  type: string;
  assume_role_arn: string | null;
  principal: string | null;
  external_id: string | null;
  example_trust_policy: string | null;
}

export async function catalogRow(client: Client, connectionName: string): Promise<CatalogRow | undefined> {
  const rows = (await client.query<CatalogRow>(connectionCatalogSql(connectionName))).rows;
  if (rows.length > 1) {
    throw new ConflictError(
      `${rows.length} connections are named ${connectionName} (in different schemas); choose a connectionName used nowhere else`,
    );
  }
  return rows[0];
}

export function assertOurs(row: CatalogRow, connectionName: string, roleArn: string): void {
  if (row.assume_role_arn === null) {
    throw new ConflictError(
      `connection ${connectionName} exists but is a ${row.type} connection, not an AWS assume-role connection; choose another connectionName`,
    );
  }
  if (row.assume_role_arn !== roleArn) {
    throw new ConflictError(
      `connection ${connectionName} exists and assumes role ${row.assume_role_arn}, not ${roleArn}; choose another connectionName or roleName, or drop that connection`,
    );
  }
}

export function createMaterializeConnectionActivities(deps: ActivityDeps): MaterializeConnectionActivities {
  const { materialize } = deps;
  const mz = <T>(profile: string, fn: (c: Client) => Promise<T>) => withMaterialize(materialize, profile, fn);

  // Every activity here waits on pg (VALIDATE CONNECTION and the probe COPY can take long) or S3: heartbeat
  // throughout, so a lost worker is noticed within the heartbeat timeout.
  return heartbeating({
    /** CREATE CONNECTION with the role ARN (validation off); an existing one is adopted when it assumes that role. */
    async ensureMzConnection(input: {
      materializeProfile: string;
      connectionName: string;
      roleArn: string;
      region: string;
    }): Promise<{ connectionId: string; change?: string }> {
      return mz(input.materializeProfile, async (c) => {
        const existing = await catalogRow(c, input.connectionName);
        if (existing) {
          assertOurs(existing, input.connectionName, input.roleArn);
          return { connectionId: existing.id };
        }
        try {
          await c.query(createConnectionSql(input.connectionName, input.roleArn, input.region));
        } catch (e) {
          if (!/already exists/i.test(pgErrorText(e))) throw e;
        }
        const created = await catalogRow(c, input.connectionName);
        if (!created) throw new Error(`connection ${input.connectionName} is not in the catalog right after CREATE CONNECTION; retrying`);
        assertOurs(created, input.connectionName, input.roleArn);
        return { connectionId: created.id, change: `connection ${input.connectionName}: created (${created.id})` };
      });
    },

    /** The catalog: principal, external_id and example_trust_policy from mz_internal.mz_aws_connections. */
    async readMzConnection(input: {
      materializeProfile: string;
      connectionName: string;
      roleArn: string;
    }): Promise<MzConnectionInfo> {
      return mz(input.materializeProfile, async (c) => {
        const row = await catalogRow(c, input.connectionName);
        if (!row) throw new UserFixableError(`connection ${input.connectionName} was dropped during onboarding; run onboarding again`);
        assertOurs(row, input.connectionName, input.roleArn);
        if (!row.principal || !row.external_id) {
          throw new UserFixableError(
            `Materialize reports no principal or external ID for connection ${input.connectionName}; it must be an assume-role AWS connection`,
          );
        }
        // What Materialize says it expects must be what we are about to write; otherwise say how it differs.
        if (row.example_trust_policy) {
          const expected = assessTrustPolicy(parsePolicyDocument(row.example_trust_policy));
          if (!expected.principals.includes(row.principal) || !expected.externalIds.includes(row.external_id)) {
            throw new ConflictError(
              `Materialize's example trust policy for ${input.connectionName} names principals [${expected.principals}] and external IDs [${expected.externalIds}], not ${row.principal} and ${row.external_id}`,
            );
          }
        }
        return { connectionId: row.id, assumeRoleArn: row.assume_role_arn!, principal: row.principal, externalId: row.external_id };
      });
    },

    /**
     * Step 7, one attempt: VALIDATE CONNECTION. "Not yet assumable" is a NotYetError (the workflow waits and
     * retries); a trust policy without an external ID is an InsecureTrustPolicyError (fatal).
     */
    async validateMzConnection(input: { materializeProfile: string; connectionName: string }): Promise<void> {
      await mz(input.materializeProfile, async (c) => {
        try {
          await c.query(validateConnectionSql(input.connectionName));
        } catch (e) {
          if (!isServerError(e)) throw e; // not an answer from Materialize: connection trouble, retried
          const text = pgErrorText(e);
          switch (classifyValidateFailure(text)) {
            case 'insecure-trust-policy':
              throw new InsecureTrustPolicyError(
                `VALIDATE CONNECTION ${input.connectionName}: ${text}. Add the condition StringEquals sts:ExternalId to the role's trust policy (running onboarding again writes it)`,
              );
            case 'not-yet-assumable':
              throw new NotYetError(`VALIDATE CONNECTION ${input.connectionName}: ${text}`);
            case 'unknown-connection':
              throw new UserFixableError(`connection ${input.connectionName} was dropped during onboarding (${text}); run onboarding again`);
            default:
              throw new Error(`VALIDATE CONNECTION ${input.connectionName}: ${text}`);
          }
        }
      });
    },

    /**
     * Step 8: a one-row COPY into <prefix>/_probe/<run>-<attempt>/. Materialize lists the path (ListBucket),
     * deletes a missing key and its sentinel (DeleteObject) and writes the file (PutObject), so success proves
     * all three. Whatever any probe of this run wrote is removed afterwards, success or not.
     */
    async probeMzConnection(input: ProbeInput): Promise<ProbeResult> {
      const keyPrefix = probeKeyPrefix(input.prefix, input.runId, input.attempt);
      const uri = `s3://${input.bucket}/${keyPrefix}/`;
      let rows = 0;
      let objectsWritten = 0;
      let objectsRemoved = 0;
      try {
        rows = await mz(input.materializeProfile, async (c) => {
          try {
            return (await c.query(probeCopySql(input.connectionName, uri))).rowCount ?? 0;
          } catch (e) {
            if (!isServerError(e)) throw e;
            const text = pgErrorText(e);
            switch (classifyProbeFailure(text)) {
              case 'access-denied':
                throw new UserFixableError(
                  input.storageProfile
                    ? `the probe COPY into ${uri} was denied (${text}); storage profile ${input.storageProfile}'s access key must be allowed to write, list and delete objects under ${input.prefix}/`
                    : `the probe COPY into ${uri} was denied (${text}); the role's policy must allow s3:PutObject and s3:DeleteObject on arn:aws:s3:::${input.bucket}/${input.prefix}/* and s3:ListBucket with s3:prefix ${input.prefix}/*`,
                );
              case 'unknown-connection':
                throw new UserFixableError(`connection ${input.connectionName} was dropped during onboarding (${text}); run onboarding again`);
              default:
                throw new Error(`the probe COPY into ${uri} failed: ${text}`);
            }
          }
        });
        const listed = await s3Of(deps, input.storageProfile).send(new ListObjectsV2Command({ Bucket: input.bucket, Prefix: `${keyPrefix}/` }));
        objectsWritten = listed.KeyCount ?? 0;
        if (objectsWritten === 0) throw new Error(`the probe COPY reported success but wrote nothing under ${uri}`);
      } finally {
        // Runs on failure too: a failed COPY leaves its sentinel, which must not stay in the user's bucket.
        objectsRemoved = await deleteObjectsUnder(s3Of(deps, input.storageProfile), input.bucket, probeRunPrefix(input.prefix, input.runId));
      }
      return { path: uri, rows, objectsWritten, objectsRemoved };
    },

    /** Offboarding: DROP CONNECTION IF EXISTS; refuses when the connection assumes another role than the input's. */
    async dropMzConnection(input: {
      materializeProfile: string;
      connectionName: string;
      roleName: string;
    }): Promise<{ dropped: boolean }> {
      return mz(input.materializeProfile, async (c) => {
        const row = await catalogRow(c, input.connectionName);
        if (!row) return { dropped: false };
        if (row.assume_role_arn === null || !/:role\/(.*\/)?[^/]+$/.test(row.assume_role_arn) || !row.assume_role_arn.endsWith(`/${input.roleName}`)) {
          throw new ConflictError(
            `connection ${input.connectionName} does not assume role ${input.roleName} (it ${row.assume_role_arn ? `assumes ${row.assume_role_arn}` : `is a ${row.type} connection`}); not dropping it`,
          );
        }
        try {
          await c.query(dropConnectionSql(input.connectionName));
        } catch (e) {
          if (isServerError(e)) {
            throw new UserFixableError(`DROP CONNECTION ${input.connectionName} failed: ${pgErrorText(e)}; drop what depends on it first`);
          }
          throw e;
        }
        return { dropped: true };
      });
    },
  });
}
