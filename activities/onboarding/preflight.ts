/**
 * The read-only preflights of onboarding and offboarding: every check that can fail runs here, before the first
 * write, so bad input or a name owned by someone else fails with nothing created. Onboarding runs its preflight
 * twice: before CREATE CONNECTION, and right after it with what Materialize reports for the new connection
 * (principal, external ID), which only exists then; a failure there undoes that one write.
 */
import type { Client } from 'pg';
import { ConflictError } from '../../common/failures';
import { withMaterialize } from '../../platform/materialize';
import {
  connectionBinding,
  deletionProblem,
  policyAdoptionProblem,
  principalProblem,
  roleAdoptionProblem,
  type OwnerIntent,
} from '../../common/onboarding/ownership';
import { ENVIRONMENT_ID_SQL, KNOWN_PRINCIPAL_SQL, connectionsAssumingRoleSql } from '../../common/onboarding/sql';
import type { ActivityDeps } from '../deps';
import { heartbeating } from '../heartbeat';
import type {
  AwsIdentity,
  OffboardPreflightInput,
  OnboardPreflight,
  OnboardPreflightInput,
  PreflightActivities,
} from '../../common/onboarding/activities';
import { awsIdentity, readPolicyFacts, readRoleFacts } from './iam-ownership';
import { assertOurs, catalogRow } from './materialize-connection';
import { checkBucket } from './s3-bucket';

async function connectionsAssuming(c: Client, roleArn: string, except: string): Promise<string[]> {
  const rows = (await c.query<{ name: string }>(connectionsAssumingRoleSql(roleArn))).rows;
  return rows.map((r) => r.name).filter((n) => n !== except);
}

async function environmentId(c: Client): Promise<string> {
  return (await c.query<{ environment_id: string }>(ENVIRONMENT_ID_SQL)).rows[0].environment_id;
}

export function createPreflightActivities({ aws: clients, materialize }: ActivityDeps): PreflightActivities {
  const { iam, s3, sts } = clients;

  return heartbeating({
    /** The worker's AWS account and partition: the ARNs of the role and policy follow from them. */
    async readAwsIdentity(): Promise<AwsIdentity> {
      return awsIdentity(sts);
    },

    async preflightOnboarding(input: OnboardPreflightInput): Promise<OnboardPreflight> {
      const identity = await awsIdentity(sts);
      const arn = (kind: string, name: string) => `arn:${identity.partition}:iam::${identity.accountId}:${kind}/${name}`;
      const roleArn = arn('role', input.roleName);
      const policyArn = arn('policy', input.policyName);
      if (input.materializePrincipal) {
        const p = principalProblem(input.materializePrincipal, identity.partition);
        if (p) throw new ConflictError(`materializePrincipal: ${p}; remove materializePrincipal (it is read from Materialize) or correct it`);
      }
      const bucket = await checkBucket(s3, input, identity.accountId);

      const mz = await withMaterialize(materialize, input.materializeProfile, async (c) => {
        const row = await catalogRow(c, input.connectionName);
        if (row) assertOurs(row, input.connectionName, roleArn);
        const known = input.reported?.principal ?? (await c.query<{ principal: string }>(KNOWN_PRINCIPAL_SQL)).rows[0]?.principal ?? undefined;
        return {
          environmentId: await environmentId(c),
          connectionExists: Boolean(row),
          principal: known,
          others: await connectionsAssuming(c, roleArn, input.connectionName),
        };
      });
      if (mz.principal) {
        const p = principalProblem(mz.principal, identity.partition);
        if (p) throw new ConflictError(`Materialize reports principal ${mz.principal}, which no role of this project will trust: ${p}; check the Materialize deployment's AWS connection role`);
        if (input.materializePrincipal && input.materializePrincipal !== mz.principal) {
          throw new ConflictError(
            `materializePrincipal is ${input.materializePrincipal} but Materialize reports ${mz.principal}; remove materializePrincipal from the input or correct it`,
          );
        }
      }

      const want: OwnerIntent = {
        binding: connectionBinding(mz.environmentId, input.connectionName),
        connectionName: input.connectionName,
        roleName: input.roleName,
        principal: mz.principal,
        externalId: input.reported?.externalId,
      };
      const role = await readRoleFacts(iam, input.roleName, mz.others);
      const roleProblem = role && roleAdoptionProblem(role, { ...want, expectedArn: roleArn });
      if (roleProblem) throw new ConflictError(roleProblem);
      if (!role && mz.others.length) {
        throw new ConflictError(
          `connection ${mz.others.join(', ')} of this Materialize environment assumes role ${roleArn} (which does not exist yet); choose another roleName, or drop that connection`,
        );
      }
      const policy = await readPolicyFacts(iam, input.policyName, policyArn);
      const policyProblem = policy && policyAdoptionProblem(policy, want);
      if (policyProblem) throw new ConflictError(policyProblem);

      return {
        ...identity,
        roleArn,
        policyArn,
        binding: want.binding,
        principal: mz.principal,
        connectionExists: mz.connectionExists,
        region: bucket.region,
        bucketExists: bucket.exists,
      };
    },

    /** Offboarding deletes only what is bound to this connection: all of it is checked before anything is dropped. */
    async preflightOffboarding(input: OffboardPreflightInput): Promise<{ binding: string; roleArn: string }> {
      const identity = await awsIdentity(sts);
      const roleArn = `arn:${identity.partition}:iam::${identity.accountId}:role/${input.roleName}`;
      const policyArn = `arn:${identity.partition}:iam::${identity.accountId}:policy/${input.policyName}`;
      const binding = await withMaterialize(materialize, input.materializeProfile, async (c) => {
        const row = await catalogRow(c, input.connectionName);
        if (row && row.assume_role_arn !== roleArn) {
          throw new ConflictError(
            `connection ${input.connectionName} does not assume role ${roleArn} (it ${row.assume_role_arn ? `assumes ${row.assume_role_arn}` : `is a ${row.type} connection`}); not dropping it`,
          );
        }
        return connectionBinding(await environmentId(c), input.connectionName);
      });
      const want: OwnerIntent = { binding, connectionName: input.connectionName, roleName: input.roleName };
      const role = await readRoleFacts(iam, input.roleName);
      const roleProblem = role && deletionProblem('role', input.roleName, role.tags, want);
      if (roleProblem) throw new ConflictError(roleProblem);
      const policy = await readPolicyFacts(iam, input.policyName, policyArn);
      const policyProblem = policy && (deletionProblem('policy', input.policyName, policy.tags, want) ?? policyAdoptionProblem(policy, want));
      if (policyProblem) throw new ConflictError(policyProblem);
      return { binding, roleArn };
    },
  });
}
