/**
 * Recognizes the statements mz-local implements itself (Materialize-only syntax) and parses them.
 * Everything else is ordinary SQL for the engine.
 */
import { MzError, SqlState } from '../errors';
import { isSelectStatement, splitAsOf, type AsOf } from './as-of';
import { tokenize, type Token } from './lexer';
import { optionBool, TokenStream, type ObjectName, type OptionValue } from './token-stream';

export interface AwsConnectionOption {
  /** Upper-case option name as Materialize prints it, e.g. "ASSUME ROLE ARN". */
  name: string;
  value: OptionValue;
}

/** A statement mz-local implements, with its SQL text (for the statement log). */
export type Statement = StatementKind & { sql?: string };

type StatementKind =
  | {
      kind: 'create_connection';
      name: ObjectName;
      ifNotExists: boolean;
      connectionType: string;
      options: AwsConnectionOption[];
      validate?: boolean;
    }
  | { kind: 'drop_connection'; names: ObjectName[]; ifExists: boolean; cascade: boolean }
  | { kind: 'validate_connection'; name: ObjectName }
  | { kind: 'show_objects'; objectType: 'connections' | 'materialized views' | 'tables' | 'views' | 'secrets'; schema?: ObjectName; like?: string }
  | { kind: 'create_materialized_view'; name: ObjectName; orReplace: boolean; ifNotExists: boolean; columns?: string; query: string }
  | { kind: 'drop_materialized_view'; names: ObjectName[]; ifExists: boolean; cascade: boolean }
  | { kind: 'alter_system_set'; name: string; value: string | null }
  | { kind: 'set_session_var'; name: string; value: string | null }
  | { kind: 'show_var'; name: string }
  | { kind: 'create_cluster'; name: string; options: { name: string; value: OptionValue }[] }
  | { kind: 'drop_cluster'; names: string[]; ifExists: boolean; cascade: boolean }
  | { kind: 'show_clusters'; like?: string }
  | { kind: 'create_secret'; name: ObjectName; ifNotExists: boolean; value: string }
  | { kind: 'alter_secret'; name: ObjectName; ifExists: boolean; value: string }
  | { kind: 'drop_secret'; names: ObjectName[]; ifExists: boolean; cascade: boolean }
  | { kind: 'select_as_of'; query: string; queryTokens: Token[]; asOf: AsOf }
  | { kind: 'explain_timestamp'; format: 'text' | 'json'; query: string; queryTokens: Token[]; asOf: AsOf | null }
  | CopyToStatement;

export interface CopyToStatement {
  kind: 'copy_to';
  /** A named relation (with optional column list) or a parenthesized query. */
  relation:
    | { kind: 'named'; name: ObjectName; nameText: string; columns: string[] }
    | { kind: 'query'; query: string; queryTokens: Token[]; isSubscribe: boolean; asOf: AsOf | null };
  /** The target expression's SQL text, as written. */
  target: string;
  targetTokens: Token[];
  options: { name: string; value: OptionValue }[];
}

/** Session variables that exist in Materialize but not in Postgres; mz-local keeps them per session. */
export const MATERIALIZE_SESSION_VARS: Record<string, string> = {
  cluster: 'quickstart',
  cluster_replica: '',
  database: 'materialize',
  transaction_isolation: 'strict serializable',
  real_time_recency: 'off',
  statement_timeout: '10s',
  idle_in_transaction_session_timeout: '2min',
  welcome_message: 'off',
  auto_route_catalog_queries: 'on',
};

/** Runtime knobs of mz-local itself, settable with ALTER SYSTEM SET. */
export const MZ_LOCAL_KNOBS = [
  'mz_local_fail_after_files',
  'mz_local_batch_delay_ms',
  'mz_local_drop_session_mid_copy',
  'mz_local_propagation_delay_seconds',
] as const;

/**
 * Parses `sql` if it is a statement mz-local implements, returns null for ordinary SQL.
 * Throws a syntax error for malformed Materialize statements.
 */
export function parseSpecial(sql: string, tokens: Token[] = tokenize(sql)): Statement | null {
  const stmt = parseSpecialStatement(sql, tokens);
  // not enumerable: the statement's fields stay what the parser produced
  if (stmt) Object.defineProperty(stmt, 'sql', { value: sql, enumerable: false });
  return stmt;
}

function parseSpecialStatement(sql: string, tokens: Token[]): Statement | null {
  const s = new TokenStream(tokens, sql);
  if (s.isKeyword('create')) {
    let k = 1;
    const orReplace = s.isKeyword('or', 1) && s.isKeyword('replace', 2);
    if (orReplace) k = 3;
    if (s.isKeyword('connection', k)) return parseCreateConnection(s);
    if (s.isKeyword('materialized', k) && s.isKeyword('view', k + 1)) return parseCreateMaterializedView(s);
    if (s.isKeyword('cluster', 1)) return parseCreateCluster(s);
    if (s.isKeyword('secret', 1)) {
      s.pos = 2;
      const ifNotExists = s.acceptKeywords('if', 'not', 'exists');
      const name = s.objectName();
      s.expectKeywords('as');
      const value = s.restFrom(s.pos);
      if (!value) throw s.expected('an expression');
      return { kind: 'create_secret', name, ifNotExists, value };
    }
    return null;
  }
  if (s.isKeyword('alter') && s.isKeyword('secret', 1)) {
    s.pos = 2;
    const ifExists = s.acceptKeywords('if', 'exists');
    const name = s.objectName();
    s.expectKeywords('as');
    const value = s.restFrom(s.pos);
    if (!value) throw s.expected('an expression');
    return { kind: 'alter_secret', name, ifExists, value };
  }
  if (s.isKeyword('drop') && s.isKeyword('secret', 1)) {
    s.pos = 2;
    return { kind: 'drop_secret', ...dropTail(s, () => s.objectName()) };
  }
  if (s.isKeyword('drop') && s.isKeyword('cluster', 1)) {
    s.pos = 2;
    return { kind: 'drop_cluster', ...dropTail(s, () => s.identifier()) };
  }
  if (s.isKeyword('drop') && s.isKeyword('connection', 1)) return parseDropList(s, 'connection');
  if (s.isKeyword('drop') && s.isKeyword('materialized', 1) && s.isKeyword('view', 2)) return parseDropList(s, 'materialized view');
  if (s.isKeyword('validate') && s.isKeyword('connection', 1)) {
    s.pos = 2;
    const name = s.objectName();
    if (!s.atEnd()) throw s.expected('end of statement');
    return { kind: 'validate_connection', name };
  }
  if (s.isKeyword('alter') && s.isKeyword('system', 1)) return parseAlterSystem(s);
  if (s.isKeyword('show')) return parseShow(s);
  if (s.isKeyword('set') || s.isKeyword('reset')) return parseSetSessionVar(s);
  if (s.isKeyword('copy')) return parseCopyTo(s);
  if (s.isKeyword('explain') && s.isKeyword('timestamp', 1)) return parseExplainTimestamp(s);
  if (isSelectStatement(tokens)) {
    const split = splitAsOf(sql, tokens);
    return split.asOf ? { kind: 'select_as_of', query: split.query, queryTokens: split.queryTokens, asOf: split.asOf } : null;
  }
  return null;
}

/** EXPLAIN TIMESTAMP [AS TEXT | AS JSON] FOR <select> (src/sql-parser/src/parser.rs parse_explain_timestamp). */
function parseExplainTimestamp(s: TokenStream): Statement {
  s.expectKeywords('explain', 'timestamp');
  let format: 'text' | 'json' = 'text';
  if (s.acceptKeywords('as')) {
    if (s.acceptKeywords('json')) format = 'json';
    else if (!s.acceptKeywords('text')) throw s.expected('one of TEXT or JSON');
  }
  s.expectKeywords('for');
  const rest = s.tokens.slice(s.pos);
  if (!isSelectStatement(rest)) throw s.expected('SELECT, VALUES, or WITH');
  const start = rest[0].start;
  const text = s.text.slice(start);
  const rebased = rest.map((t) => ({ ...t, start: t.start - start, end: t.end - start }));
  const split = splitAsOf(text, rebased);
  return { kind: 'explain_timestamp', format, query: split.query, queryTokens: split.queryTokens, asOf: split.asOf };
}

// ---------------------------------------------------------------------------------------------------------
// CREATE / DROP / VALIDATE CONNECTION

/** Option names Materialize accepts in CREATE CONNECTION (all types), longest first for matching. */
const CONNECTION_OPTION_NAMES: string[][] = [
  ['assume', 'role', 'session', 'name'],
  ['assume', 'role', 'arn'],
  ['access', 'key', 'id'],
  ['secret', 'access', 'key'],
  ['session', 'token'],
  ['aws', 'privatelink'],
  ['aws', 'connection'],
  ['availability', 'zones'],
  ['progress', 'topic', 'replication', 'factor'],
  ['progress', 'topic'],
  ['public', 'key', '1'],
  ['public', 'key', '2'],
  ['sasl', 'mechanisms'],
  ['sasl', 'password'],
  ['sasl', 'username'],
  ['security', 'protocol'],
  ['service', 'name'],
  ['ssh', 'tunnel'],
  ['ssl', 'certificate', 'authority'],
  ['ssl', 'certificate'],
  ['ssl', 'key'],
  ['ssl', 'mode'],
  ['broker'],
  ['brokers'],
  ['database'],
  ['endpoint'],
  ['host'],
  ['password'],
  ['port'],
  ['region'],
  ['url'],
  ['user'],
];

/** What Materialize's parser lists when it meets an unknown AWS connection option. */
const EXPECTED_CONNECTION_OPTIONS =
  'one of ACCESS or ASSUME or AVAILABILITY or AWS or BROKER or BROKERS or DATABASE or ENDPOINT or HOST or PASSWORD or PORT or PROGRESS or PUBLIC or REGION or SASL or SECRET or SECURITY or SERVICE or SESSION or SSH or SSL or URL or USER';

function parseCreateConnection(s: TokenStream): Statement {
  s.expectKeywords('create');
  if (s.acceptKeywords('or', 'replace')) {
    throw new MzError(SqlState.FeatureNotSupported, 'CREATE OR REPLACE CONNECTION is not supported');
  }
  s.expectKeywords('connection');
  const ifNotExists = s.acceptKeywords('if', 'not', 'exists');
  const name = s.objectName();
  s.expectKeywords('to');
  const typeTok = s.next();
  if (typeTok.kind !== 'ident') throw new MzError(SqlState.SyntaxError, `Expected connection type, found ${s.describe(typeTok)}`);
  let connectionType = typeTok.value;
  if (connectionType === 'aws' && s.isKeyword('privatelink')) {
    s.next();
    connectionType = 'aws privatelink';
  }
  const known = ['aws', 'aws privatelink', 'kafka', 'postgres', 'mysql', 'sql', 'ssh', 'confluent', 'iceberg', 'yugabyte'];
  if (!known.includes(connectionType)) {
    throw new MzError(
      SqlState.SyntaxError,
      `Expected one of AWS or CONFLUENT or ICEBERG or KAFKA or MYSQL or POSTGRES or SQL or SSH or YUGABYTE, found identifier "${connectionType}"`,
    );
  }
  if (connectionType === 'confluent') s.expectKeywords('schema', 'registry');
  if (connectionType === 'sql') s.expectKeywords('server');
  const options: AwsConnectionOption[] = [];
  s.expectPunct('(');
  if (!s.isPunct(')')) {
    for (;;) {
      const words = CONNECTION_OPTION_NAMES.find((w) => w.every((word, k) => isWord(s.peek(k), word)));
      if (!words) throw s.expected(EXPECTED_CONNECTION_OPTIONS);
      s.pos += words.length;
      const optName = words.join(' ').toUpperCase();
      // SECRET ACCESS KEY = SECRET name
      if (s.isPunct('=') && s.isKeyword('secret', 1)) {
        s.pos += 2;
        options.push({ name: optName, value: { kind: 'object', name: s.objectName() } });
      } else if (s.isKeyword('secret') && !s.isPunct(',', 1) && !s.isPunct(')', 1)) {
        s.pos += 1;
        options.push({ name: optName, value: { kind: 'object', name: s.objectName() } });
      } else {
        options.push({ name: optName, value: s.optionValue() });
      }
      if (s.acceptPunct(',')) continue;
      s.expectPunct(')');
      break;
    }
  } else s.expectPunct(')');
  let validate: boolean | undefined;
  if (s.acceptKeywords('with')) {
    s.expectPunct('(');
    for (;;) {
      if (!s.acceptKeywords('validate')) throw s.expected('VALIDATE');
      validate = optionBool(s.optionValue(), 'VALIDATE');
      if (s.acceptPunct(',')) continue;
      s.expectPunct(')');
      break;
    }
  }
  if (!s.atEnd()) throw s.expected('end of statement');
  return { kind: 'create_connection', name, ifNotExists, connectionType, options, validate };
}

// ---------------------------------------------------------------------------------------------------------
// CREATE CLUSTER (src/sql-parser/src/parser.rs parse_create_cluster, parse_cluster_option)

const CLUSTER_OPTION_NAMES: string[][] = [
  ['availability', 'zones'],
  ['disk'],
  ['introspection', 'debugging'],
  ['introspection', 'interval'],
  ['managed'],
  ['replicas'],
  ['replication', 'factor'],
  ['size'],
  ['schedule'],
  ['workload', 'class'],
];
const EXPECTED_CLUSTER_OPTIONS = 'one of AVAILABILITY or DISK or INTROSPECTION or MANAGED or REPLICAS or REPLICATION or SIZE or SCHEDULE or WORKLOAD';

function parseCreateCluster(s: TokenStream): Statement {
  s.expectKeywords('create', 'cluster');
  const name = s.identifier();
  const parens = s.acceptPunct('(');
  const options: { name: string; value: OptionValue }[] = [];
  for (;;) {
    const words = CLUSTER_OPTION_NAMES.find((w) => w.every((word, k) => isWord(s.peek(k), word)));
    if (!words) throw s.expected(EXPECTED_CLUSTER_OPTIONS);
    s.pos += words.length;
    const optName = words.join(' ').toUpperCase();
    if (s.isPunct('(') || (s.isPunct('=') && s.isPunct('(', 1))) {
      s.acceptPunct('=');
      skipParens(s);
      options.push({ name: optName, value: { kind: 'none' } });
    } else options.push({ name: optName, value: s.optionValue() });
    if (s.acceptPunct(',')) continue;
    break;
  }
  if (parens) s.expectPunct(')');
  if (!s.atEnd()) throw s.expected('end of statement');
  return { kind: 'create_cluster', name, options };
}

function isWord(t: Token, word: string): boolean {
  return (t.kind === 'ident' && t.value === word) || (t.kind === 'number' && t.value === word);
}

function parseDropList(s: TokenStream, what: 'connection' | 'materialized view'): Statement {
  s.expectKeywords('drop', ...what.split(' '));
  const ifExists = s.acceptKeywords('if', 'exists');
  const names = [s.objectName()];
  while (s.acceptPunct(',')) names.push(s.objectName());
  let cascade = false;
  if (s.acceptKeywords('cascade')) cascade = true;
  else s.acceptKeywords('restrict');
  if (!s.atEnd()) throw s.expected('end of statement');
  return what === 'connection'
    ? { kind: 'drop_connection', names, ifExists, cascade }
    : { kind: 'drop_materialized_view', names, ifExists, cascade };
}

// ---------------------------------------------------------------------------------------------------------
// CREATE MATERIALIZED VIEW

function parseCreateMaterializedView(s: TokenStream): Statement {
  s.expectKeywords('create');
  const orReplace = s.acceptKeywords('or', 'replace');
  s.expectKeywords('materialized', 'view');
  const ifNotExists = s.acceptKeywords('if', 'not', 'exists');
  const name = s.objectName();
  let columns: string | undefined;
  if (s.isPunct('(')) {
    const from = s.pos;
    skipParens(s);
    columns = s.textFrom(from);
  }
  if (s.acceptKeywords('in', 'cluster')) s.identifier();
  if (s.acceptKeywords('with')) skipParens(s);
  s.expectKeywords('as');
  const query = s.restFrom(s.pos);
  if (!query) throw s.expected('SELECT, VALUES, or WITH');
  return { kind: 'create_materialized_view', name, orReplace, ifNotExists, columns, query };
}

/** Skips a balanced ( ... ) or [ ... ] group. */
function skipBrackets(s: TokenStream): void {
  const open = s.next().value;
  const close = open === '(' ? ')' : ']';
  let depth = 1;
  while (depth > 0) {
    const t = s.next();
    if (t.kind === 'eof') throw s.expected(close);
    if ((t.kind === 'punct' || t.kind === 'op') && t.value === open) depth++;
    if ((t.kind === 'punct' || t.kind === 'op') && t.value === close) depth--;
  }
}

function skipParens(s: TokenStream): void {
  s.expectPunct('(');
  let depth = 1;
  while (depth > 0) {
    const t = s.next();
    if (t.kind === 'eof') throw s.expected(')');
    if (t.kind === 'punct' && t.value === '(') depth++;
    if (t.kind === 'punct' && t.value === ')') depth--;
  }
}

// ---------------------------------------------------------------------------------------------------------
// ALTER SYSTEM, SET, SHOW

function parseAlterSystem(s: TokenStream): Statement {
  s.expectKeywords('alter', 'system');
  if (s.acceptKeywords('reset')) {
    const name = s.acceptKeywords('all') ? 'all' : s.identifier();
    if (!s.atEnd()) throw s.expected('end of statement');
    return { kind: 'alter_system_set', name, value: null };
  }
  s.expectKeywords('set');
  const name = s.identifier();
  if (!s.acceptKeywords('to')) s.expectPunct('=');
  if (s.acceptKeywords('default')) return { kind: 'alter_system_set', name, value: null };
  const value = setValueText(s);
  if (!s.atEnd()) throw s.expected('end of statement');
  return { kind: 'alter_system_set', name, value };
}

function setValueText(s: TokenStream): string {
  const parts: string[] = [];
  for (;;) {
    const t = s.next();
    if (t.kind === 'eof') throw s.expected('a value');
    if (t.kind === 'op' && t.value === '-' && s.peek().kind === 'number') {
      parts.push('-' + s.next().value);
    } else parts.push(t.value);
    if (!s.acceptPunct(',')) break;
  }
  return parts.join(', ');
}

function parseSetSessionVar(s: TokenStream): Statement | null {
  if (s.acceptKeywords('reset')) {
    const t = s.peek();
    if (t.kind !== 'ident' || !(t.value in MATERIALIZE_SESSION_VARS)) return null;
    s.next();
    if (!s.atEnd()) return null;
    return { kind: 'set_session_var', name: t.value, value: null };
  }
  s.expectKeywords('set');
  s.acceptKeywords('session');
  const t = s.peek();
  if (t.kind !== 'ident' || !(t.value in MATERIALIZE_SESSION_VARS)) return null;
  s.next();
  if (!s.acceptKeywords('to') && !s.acceptPunct('=')) return null;
  if (s.acceptKeywords('default')) return { kind: 'set_session_var', name: t.value, value: null };
  const value = setValueText(s);
  if (!s.atEnd()) return null;
  return { kind: 'set_session_var', name: t.value, value };
}

function parseShow(s: TokenStream): Statement | null {
  s.expectKeywords('show');
  let objectType: 'connections' | 'materialized views' | 'tables' | 'views' | 'secrets' | undefined;
  if (s.acceptKeywords('secrets')) objectType = 'secrets';
  else if (s.acceptKeywords('clusters')) {
    let like: string | undefined;
    if (s.acceptKeywords('like')) {
      const t = s.next();
      if (t.kind !== 'string') throw s.expected('literal string');
      like = t.value;
    }
    if (!s.atEnd()) throw s.expected('end of statement');
    return { kind: 'show_clusters', like };
  }
  if (s.acceptKeywords('connections')) objectType = 'connections';
  else if (s.acceptKeywords('materialized', 'views')) objectType = 'materialized views';
  else if (s.acceptKeywords('tables')) objectType = 'tables';
  else if (s.acceptKeywords('views')) objectType = 'views';
  if (objectType) {
    let schema: ObjectName | undefined;
    let like: string | undefined;
    if (s.acceptKeywords('from') || s.acceptKeywords('in')) schema = s.objectName();
    if (s.acceptKeywords('like')) {
      const t = s.next();
      if (t.kind !== 'string') throw s.expected('literal string');
      like = t.value;
    }
    if (!s.atEnd()) throw s.expected('end of statement');
    return { kind: 'show_objects', objectType, schema, like };
  }
  const t = s.peek();
  if (t.kind !== 'ident') return null;
  const isKnob = (MZ_LOCAL_KNOBS as readonly string[]).includes(t.value);
  if (!isKnob && !(t.value in MATERIALIZE_SESSION_VARS)) return null;
  s.next();
  if (!s.atEnd()) return null;
  return { kind: 'show_var', name: t.value };
}

// ---------------------------------------------------------------------------------------------------------
// COPY ... TO <expr>

/** Parses `COPY <relation> TO <expr> [WITH] (options)`; returns null for COPY FROM and COPY TO STDOUT. */
function parseCopyTo(s: TokenStream): Statement | null {
  s.expectKeywords('copy');
  let relation: CopyToStatement['relation'];
  if (s.isPunct('(')) {
    const open = s.pos;
    skipParens(s);
    const inner = s.tokens.slice(open + 1, s.pos - 1);
    const start = s.tokens[open + 1].start;
    const text = s.text.slice(start, s.tokens[s.pos - 1].start).trimEnd();
    const isSubscribe = inner.length > 0 && inner[0].kind === 'ident' && inner[0].value === 'subscribe';
    // src/sql-parser/src/parser.rs parse_copy: the parenthesized statement must be a SELECT or SUBSCRIBE,
    // else `unsupported query in COPY` (nothing is planned or written)
    if (!isSubscribe && !isSelectStatement(inner)) throw new MzError(SqlState.SyntaxError, 'unsupported query in COPY');
    const rebased = inner.map((t) => ({ ...t, start: t.start - start, end: t.end - start }));
    const split = isSubscribe ? { query: text, queryTokens: rebased, asOf: null } : splitAsOf(text, rebased);
    relation = { kind: 'query', query: split.query, queryTokens: split.queryTokens, isSubscribe, asOf: split.asOf };
  } else {
    const from = s.pos;
    const name = s.objectName();
    const nameText = s.textFrom(from);
    const columns: string[] = [];
    if (s.acceptPunct('(')) {
      if (!s.isPunct(')')) {
        columns.push(s.identifier());
        while (s.acceptPunct(',')) columns.push(s.identifier());
      }
      s.expectPunct(')');
    }
    relation = { kind: 'named', name, nameText, columns };
  }
  if (!s.isKeyword('to')) return null; // COPY ... FROM: ordinary SQL
  s.next();
  if (s.isKeyword('stdout') || s.isKeyword('stdin')) return null;
  // The target expression runs until WITH or the option list's parenthesis at depth 0.
  const targetStart = s.pos;
  let depth = 0;
  while (!s.atEnd()) {
    const t = s.peek();
    if (depth === 0 && t.kind === 'ident' && t.value === 'with' && isOptionListStart(s, 1)) break;
    if (depth === 0 && t.kind === 'punct' && t.value === '(' && s.pos > targetStart && looksLikeCopyOptions(s)) break;
    if (t.kind === 'punct' && t.value === '(') depth++;
    if (t.kind === 'punct' && t.value === ')') depth--;
    s.next();
  }
  if (s.pos === targetStart) throw s.expected('an expression');
  const targetTokens = s.tokens.slice(targetStart, s.pos);
  const target = s.text.slice(s.tokens[targetStart].start, s.tokens[s.pos - 1].end);
  const options: { name: string; value: OptionValue }[] = [];
  if (s.acceptKeywords('with') || s.isPunct('(')) {
    s.expectPunct('(');
    if (!s.isPunct(')')) {
      for (;;) {
        options.push(parseCopyOption(s));
        if (s.acceptPunct(',')) continue;
        break;
      }
    }
    s.expectPunct(')');
  }
  if (!s.atEnd()) throw s.expected('end of statement');
  return { kind: 'copy_to', relation, target, targetTokens, options };
}

function isOptionListStart(s: TokenStream, offset: number): boolean {
  return s.isPunct('(', offset);
}

/** A parenthesis after the target starts the option list when it opens with a COPY option name. */
function looksLikeCopyOptions(s: TokenStream): boolean {
  const t = s.peek(1);
  return t.kind === 'ident' && COPY_OPTION_NAMES.some((words) => words[0] === t.value);
}

const COPY_OPTION_NAMES: string[][] = [
  ['aws', 'connection'],
  ['max', 'file', 'size'],
  ['format'],
  ['delimiter'],
  ['null'],
  ['escape'],
  ['quote'],
  ['header'],
  ['files'],
  ['pattern'],
];

function parseCopyOption(s: TokenStream): { name: string; value: OptionValue } {
  const words = COPY_OPTION_NAMES.find((w) => w.every((word, k) => isWord(s.peek(k), word)));
  if (!words) {
    // src/sql-parser/src/parser.rs parse_copy_option: expect_one_of_keywords in this order
    throw s.expected('one of FORMAT or DELIMITER or NULL or ESCAPE or QUOTE or HEADER or AWS or MAX or FILES or PATTERN');
  }
  s.pos += words.length;
  const name = words.join(' ').toUpperCase();
  if (name === 'AWS CONNECTION') {
    s.acceptPunct('=');
    return { name, value: { kind: 'object', name: s.objectName() } };
  }
  if ((name === 'FILES' || name === 'PATTERN') && (s.isPunct('(') || s.isPunct('[') || (s.isPunct('=') && (s.isPunct('(', 1) || s.isPunct('[', 1))))) {
    // a list of file names (COPY FROM's): skipped, COPY TO ignores it
    s.acceptPunct('=');
    skipBrackets(s);
    return { name, value: { kind: 'none' } };
  }
  return { name, value: s.optionValue() };
}

/** The rest of `DROP <kind> [IF EXISTS] name [, ...] [CASCADE | RESTRICT]`, the same for secrets and clusters. */
function dropTail<T>(s: TokenStream, name: () => T): { names: T[]; ifExists: boolean; cascade: boolean } {
  const ifExists = s.acceptKeywords('if', 'exists');
  const names = [name()];
  while (s.acceptPunct(',')) names.push(name());
  const cascade = s.acceptKeywords('cascade');
  if (!cascade) s.acceptKeywords('restrict');
  if (!s.atEnd()) throw s.expected('end of statement');
  return { names, ifExists, cascade };
}
