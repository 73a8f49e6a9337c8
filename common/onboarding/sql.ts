/**
 * The SQL onboarding and offboarding send to Materialize, built only with common/sql/quoting.ts quoting. Pure: the
 * activities run it and the CLI's --plan prints it.
 */
import { quoteIdent, quoteLiteral } from '../sql/quoting';

export function createConnectionSql(connectionName: string, roleArn: string, region?: string): string {
  const options = [`ASSUME ROLE ARN = ${quoteLiteral(roleArn)}`];
  if (region) options.push(`REGION = ${quoteLiteral(region)}`);
  // Validation off: the trust policy does not name the external ID yet, which is only known after creation.
  return `CREATE CONNECTION ${quoteIdent(connectionName)} TO AWS (${options.join(', ')}) WITH (VALIDATE = false)`;
}

export function validateConnectionSql(connectionName: string): string {
  return `VALIDATE CONNECTION ${quoteIdent(connectionName)}`;
}

export function dropConnectionSql(connectionName: string): string {
  return `DROP CONNECTION IF EXISTS ${quoteIdent(connectionName)}`;
}

/** The guide's catalog lookup (LEFT JOIN: a connection of that name that is not an AWS one shows as such). */
export function connectionCatalogSql(connectionName: string): string {
  return (
    'SELECT c.id, c.name, c.type, a.assume_role_arn, a.principal, a.external_id, a.example_trust_policy::text AS example_trust_policy ' +
    'FROM mz_catalog.mz_connections c ' +
    'LEFT JOIN mz_internal.mz_aws_connections a ON a.id = c.id ' +
    `WHERE c.name = ${quoteLiteral(connectionName)}`
  );
}

/** Any principal Materialize already reports: it is the same for every AWS connection of an environment. */
export const KNOWN_PRINCIPAL_SQL =
  'SELECT principal FROM mz_internal.mz_aws_connections WHERE principal IS NOT NULL LIMIT 1';

export function probeCopySql(connectionName: string, s3Uri: string): string {
  return `COPY (SELECT 1 AS probe) TO ${quoteLiteral(s3Uri)} WITH (AWS CONNECTION = ${quoteIdent(connectionName)}, FORMAT = 'csv')`;
}

/** The folder a probe attempt writes to; fixed-width attempt numbers so no probe path prefixes another. */
export function probeKeyPrefix(prefix: string, runId: string, attempt: number): string {
  return `${probeRunPrefix(prefix, runId)}${String(attempt).padStart(4, '0')}`;
}

/** Everything the probes of one workflow run may have written starts with this. */
export function probeRunPrefix(prefix: string, runId: string): string {
  return `${prefix}/_probe/${runId}-`;
}

/** The environment's id: with the connection name it identifies a connection across Materialize environments. */
export const ENVIRONMENT_ID_SQL = 'SELECT mz_environment_id() AS environment_id';

/** Every connection that assumes this role: a role serves one connection, so any other one owns it. */
export function connectionsAssumingRoleSql(roleArn: string): string {
  return (
    'SELECT c.name FROM mz_catalog.mz_connections c JOIN mz_internal.mz_aws_connections a ON a.id = c.id ' +
    `WHERE a.assume_role_arn = ${quoteLiteral(roleArn)} ORDER BY c.name`
  );
}

/**
 * An S3-compatible store's connection keeps both halves of its access key in Materialize secrets named after it:
 * rotating the key is then ALTER SECRET on both, and the connection itself never changes (Materialize reads a
 * secret's value when the connection is used).
 */
export function storageSecretNames(connectionName: string): { accessKeyId: string; secretAccessKey: string } {
  return { accessKeyId: `${connectionName}_access_key_id`, secretAccessKey: `${connectionName}_secret_access_key` };
}

/** CREATE SECRET or, when it exists, ALTER SECRET: the value as a literal (Materialize takes no parameters in DDL). */
export function setSecretSql(name: string, value: string, exists: boolean): string {
  return `${exists ? 'ALTER' : 'CREATE'} SECRET ${quoteIdent(name)} AS ${quoteLiteral(value)}`;
}

export function dropSecretSql(name: string): string {
  return `DROP SECRET IF EXISTS ${quoteIdent(name)}`;
}

/** Materialize's guide for S3 compatible object storage: an AWS connection with an access key, ENDPOINT and REGION. */
export function createAccessKeyConnectionSql(connectionName: string, endpoint: string, region: string): string {
  const s = storageSecretNames(connectionName);
  // VALIDATE CONNECTION asks STS, which S3-compatible stores do not have: the probe COPY proves access instead.
  return (
    `CREATE CONNECTION ${quoteIdent(connectionName)} TO AWS (ACCESS KEY ID = SECRET ${quoteIdent(s.accessKeyId)}, ` +
    `SECRET ACCESS KEY = SECRET ${quoteIdent(s.secretAccessKey)}, ENDPOINT = ${quoteLiteral(endpoint)}, REGION = ${quoteLiteral(region)}) WITH (VALIDATE = false)`
  );
}

/** The secrets of those names (any schema), to check which exist and that a connection uses exactly them. */
export function secretsCatalogSql(names: string[]): string {
  return `SELECT id, name FROM mz_catalog.mz_secrets WHERE name IN (${names.map(quoteLiteral).join(', ')}) ORDER BY name`;
}

/** An access-key connection's catalog row: its endpoint, region and the secrets it reads its key from. */
export function accessKeyConnectionCatalogSql(connectionName: string): string {
  return (
    'SELECT c.id, c.type, a.endpoint, a.region, a.access_key_id, a.access_key_id_secret_id, a.secret_access_key_secret_id, a.assume_role_arn ' +
    'FROM mz_catalog.mz_connections c LEFT JOIN mz_internal.mz_aws_connections a ON a.id = c.id ' +
    `WHERE c.name = ${quoteLiteral(connectionName)}`
  );
}
