/**
 * CREATE CONNECTION ... TO AWS and DROP CONNECTION with Materialize's validations and messages
 * (src/sql/src/plan/statement/ddl/connection.rs; PlanError::ItemAlreadyExists; CatalogError::UnknownItem).
 */
import type { AwsAccess } from '../aws/aws-access';
import { validateAwsConnection } from '../aws/validate-connection';
import type { EngineOwner } from '../engine/engine';
import { MzError, SqlState, type ErrorFields } from '../errors';
import { quoteIdent, quoteLiteral } from '../sql/lexer';
import type { Statement } from '../sql/statements';
import { invalidOption, objectNameToString, optionString } from '../sql/token-stream';
import type { SecretRef, Secrets } from './secrets';
import { DATABASE_NAME, mismatchedObjectType, type Catalog } from './catalog';

type CreateConnection = Extract<Statement, { kind: 'create_connection' }>;
type DropConnection = Extract<Statement, { kind: 'drop_connection' }>;

const AWS_OPTIONS = ['ACCESS KEY ID', 'SECRET ACCESS KEY', 'SESSION TOKEN', 'ENDPOINT', 'REGION', 'ASSUME ROLE ARN', 'ASSUME ROLE SESSION NAME'];
/** Option value types (src/sql/src/plan/statement/ddl/connection.rs, generate_extracted_config!). */
const STRING_OPTIONS = ['ENDPOINT', 'REGION', 'ASSUME ROLE ARN', 'ASSUME ROLE SESSION NAME', 'HOST', 'DATABASE', 'URL', 'SERVICE NAME', 'SSL MODE', 'SECURITY PROTOCOL', 'SASL MECHANISMS', 'PROGRESS TOPIC', 'PUBLIC KEY 1', 'PUBLIC KEY 2'];
const SECRET_OPTIONS = ['SECRET ACCESS KEY', 'SASL PASSWORD', 'PASSWORD', 'SSL KEY'];
const STRING_OR_SECRET_OPTIONS = ['ACCESS KEY ID', 'SESSION TOKEN', 'USER', 'SASL USERNAME', 'SSL CERTIFICATE', 'SSL CERTIFICATE AUTHORITY'];

export interface DdlResult {
  notices: ErrorFields[];
}

export async function createConnection(
  stmt: CreateConnection,
  deps: { catalog: Catalog; secrets: Secrets; aws: AwsAccess; owner: EngineOwner },
): Promise<DdlResult> {
  const { catalog, owner } = deps;
  // names are resolved before planning: a SECRET that does not exist fails first
  const secretRefs = new Map<string, SecretRef>();
  for (const o of stmt.options) if (o.value.kind === 'object') secretRefs.set(o.name, await deps.secrets.resolve(o.value.name, owner));
  if (stmt.connectionType !== 'aws') {
    throw new MzError(SqlState.FeatureNotSupported, `mz-local supports only AWS connections, not ${stmt.connectionType.toUpperCase()} connections`);
  }
  // ConnectionOptionExtracted: in order, each option once, each value converted to its type
  const values = new Map<string, string>();
  const seen = new Set<string>();
  for (const o of stmt.options) {
    if (seen.has(o.name)) throw new MzError(SqlState.SystemError, `${o.name} specified more than once`);
    seen.add(o.name);
    if (STRING_OPTIONS.includes(o.name)) values.set(o.name, optionString(o.value, o.name));
    else if (STRING_OR_SECRET_OPTIONS.includes(o.name) && o.value.kind !== 'object') values.set(o.name, optionString(o.value, o.name));
    else if (SECRET_OPTIONS.includes(o.name) && o.value.kind !== 'object') throw invalidOption(o.name, 'must provide a secret value');
  }
  const invalid = [...seen].filter((n) => !AWS_OPTIONS.includes(n)).sort();
  if (invalid.length > 0) throw new MzError(SqlState.SystemError, `AWS connections do not support ${invalid.join(', ')} values`);
  const hasKey = seen.has('ACCESS KEY ID');
  const hasSecret = seen.has('SECRET ACCESS KEY');
  const hasToken = seen.has('SESSION TOKEN');
  const hasCredentials = hasKey || hasSecret || hasToken;
  if (hasCredentials && !(hasKey && hasSecret)) {
    throw new MzError(SqlState.SystemError, 'must specify both ACCESS KEY ID and SECRET ACCESS KEY with optional SESSION TOKEN');
  }
  const arn = values.get('ASSUME ROLE ARN') ?? null;
  if (!arn && seen.has('ASSUME ROLE SESSION NAME')) {
    throw new MzError(SqlState.SystemError, 'must specify ASSUME ROLE ARN with optional ASSUME ROLE SESSION NAME');
  }
  if (!hasCredentials && !arn) throw new MzError(SqlState.SystemError, 'must specify either ASSUME ROLE ARN or ACCESS KEY ID and SECRET ACCESS KEY');
  if (hasCredentials && arn) throw new MzError(SqlState.SystemError, 'cannot specify both ACCESS KEY ID and ASSUME ROLE ARN');

  const { schema, item } = await catalog.schemaForNewItem(stmt.name, owner);
  const existing = await catalog.itemExists(schema, item, owner);
  const fullName = `${DATABASE_NAME}.${schema}.${item}`;
  if (existing) {
    if (stmt.ifNotExists) {
      return { notices: [{ severity: 'NOTICE', code: SqlState.DuplicateObject, message: `${existing} ${quoteIdent(item)} already exists, skipping` }] };
    }
    throw new MzError(SqlState.DuplicateObject, `${existing} ${quoteIdent(fullName)} already exists`);
  }
  const endpoint = values.get('ENDPOINT');
  // create_sql names secrets by their full name; redacted_create_sql hides every string literal
  const parts: string[] = [];
  const redacted: string[] = [];
  for (const name of AWS_OPTIONS) {
    const secret = secretRefs.get(name);
    if (secret) {
      const ref = `${name} = SECRET ${[DATABASE_NAME, secret.schema, secret.name].map(quoteIdent).join('.')}`;
      parts.push(ref);
      redacted.push(ref);
    } else if (values.has(name)) {
      parts.push(`${name} = ${quoteLiteral(values.get(name)!)}`);
      redacted.push(`${name} = '<REDACTED>'`);
    }
  }
  const target = `CREATE CONNECTION ${[DATABASE_NAME, schema, item].map(quoteIdent).join('.')} TO AWS`;
  const createSql = `${target} (${parts.join(', ')})`;
  const id = await catalog.createAwsConnection(
    {
      schema,
      name: item,
      assumeRoleArn: arn,
      assumeRoleSessionName: values.get('ASSUME ROLE SESSION NAME') ?? null,
      region: values.get('REGION') ?? null,
      endpoint: endpoint ? endpoint : null,
      accessKeyId: values.get('ACCESS KEY ID') ?? null,
      accessKeyIdSecretId: secretRefs.get('ACCESS KEY ID')?.id ?? null,
      secretAccessKeySecretId: secretRefs.get('SECRET ACCESS KEY')?.id ?? null,
      sessionToken: values.get('SESSION TOKEN') ?? null,
      sessionTokenSecretId: secretRefs.get('SESSION TOKEN')?.id ?? null,
      createSql,
      redactedCreateSql: `${target} (${redacted.join(', ')})`,
    },
    owner,
  );
  if (arn) deps.aws.trust.watch(arn);
  if (stmt.validate) {
    const record = await catalog.findConnection({ parts: [schema, item] }, owner);
    try {
      await validateAwsConnection(deps.aws, record!, catalog.environmentId, deps.secrets);
    } catch (e) {
      // a connection that fails validation is not created
      await catalog.dropConnection(id, owner);
      throw e;
    }
  }
  return { notices: [] };
}

export async function dropConnections(stmt: DropConnection, deps: { catalog: Catalog; owner: EngineOwner }): Promise<DdlResult> {
  const notices: ErrorFields[] = [];
  const found: { id: string; label: string }[] = [];
  for (const name of stmt.names) {
    const conn = await deps.catalog.findConnection(name, deps.owner);
    if (!conn) {
      // an item of another kind is an error even with IF EXISTS (resolve_item_or_type)
      const other = await deps.catalog.resolveItem(name, deps.owner);
      if (other) throw mismatchedObjectType(other, 'connection');
      if (stmt.ifExists) {
        notices.push({ severity: 'NOTICE', code: SqlState.UndefinedObject, message: `connection ${quoteIdent(objectNameToString(name))} does not exist, skipping` });
        continue;
      }
      throw new MzError(SqlState.UndefinedObject, `unknown catalog item '${objectNameToString(name)}'`);
    }
    found.push({ id: conn.id, label: `${conn.schema}.${conn.name}` });
  }
  for (const c of found) await deps.catalog.dropConnection(c.id, deps.owner);
  return { notices };
}
