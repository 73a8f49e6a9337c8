/**
 * Timestamps the way Materialize chooses them for a read (src/adapter/src/coord/timestamp_selection.rs
 * determine_timestamp_via_constraints), over an engine that keeps only the current state.
 *
 * - The timeline is EpochMilliseconds: the oracle's timestamp is the wall clock in milliseconds, never going
 *   back, and every write gets a timestamp above all earlier ones (mz_now() and EXPLAIN TIMESTAMP show it).
 * - Each user table remembers the timestamp of its last write (statement triggers note the tables written;
 *   mz-local dates them when the write commits). PGlite keeps no history, so a table's read frontier
 *   (`since`) is that timestamp: a read AS OF t is exact when none of its tables changed after t, and
 *   otherwise fails as Materialize fails a read below its inputs' since (`could not find a valid timestamp
 *   for the query`, DETAIL with the binding constraints). Its write frontier (`upper`) is the oracle's
 *   timestamp + 1; a read at a timestamp not yet complete waits until the clock reaches it.
 */
import type { Engine, EngineOwner } from '../engine/engine';
import { canceledError, MzError, SqlState } from '../errors';
import type { Logger } from '../log';
import { callsUnmaterializable, type AsOf } from '../sql/as-of';
import { quoteIdent, type Token } from '../sql/lexer';

export type IsolationLevel = 'StrictSerializable' | 'Serializable';

export interface TimestampSource {
  oid: string;
  /** Materialize's GlobalId display, `u<N>`. */
  id: string;
  fullName: string;
  since: bigint;
}

type Reason = { kind: 'StorageInput'; ids: string[] } | { kind: 'IsolationLevel'; level: IsolationLevel } | { kind: 'QueryAsOf' };

export interface Determination {
  chosen: bigint;
  oracleReadTs: bigint | null;
  since: bigint;
  upper: bigint;
  sources: TimestampSource[];
  lower: [bigint, Reason][];
  upperConstraints: [bigint, Reason][];
  respondImmediately: boolean;
  sessionWallTime: Date;
}

export type QueryWhen = { kind: 'immediately' } | { kind: 'at'; ts: bigint } | { kind: 'at_least'; ts: bigint };

export class ReadTimestamps {
  private last = 0n;
  /** table oid -> timestamp of its last write (or of when mz-local first saw it). */
  private readonly writes = new Map<string, bigint>();

  constructor(
    private readonly engine: Engine,
    private readonly log: Logger,
  ) {}

  /** The oracle's read timestamp: the wall clock, never below an earlier timestamp. */
  readTs(): bigint {
    const now = BigInt(Date.now());
    if (now > this.last) this.last = now;
    return this.last;
  }

  /**
   * A timestamp for a write: above every earlier timestamp, including reads the engine answered on its own
   * (mz_now() reads the clock there), hence at least the clock + 1.
   */
  private writeTs(): bigint {
    const next = BigInt(Date.now()) + 1n;
    this.last = next > this.last ? next : this.last + 1n;
    return this.last;
  }

  /**
   * Dates the writes committed since the last call, and starts tracking tables created since (the caller
   * holds the engine, outside a failed transaction).
   */
  async collectWrites(): Promise<void> {
    const rows = await this.engine.query('SELECT relid::text FROM mz_internal.mz_local_collect_writes()');
    if (rows.length === 0) return;
    const ts = this.writeTs();
    for (const [oid] of rows) this.writes.set(oid!, ts);
    await this.engine.query(
      `INSERT INTO mz_internal.mz_local_meta (key, value) VALUES ('oracle_ts', $1) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
      [String(ts)],
    );
    this.log.debug(`writes at ${ts}: tables ${rows.map((r) => r[0]).join(', ')}`);
  }

  /** Restores the oracle after a restart (a data directory): never below the last write's timestamp. */
  async restore(): Promise<void> {
    const v = (await this.engine.query(`SELECT value FROM mz_internal.mz_local_meta WHERE key = 'oracle_ts'`))[0]?.[0];
    if (v && BigInt(v) > this.last) this.last = BigInt(v);
  }

  /** The user tables a query reads (views expanded), from the engine's plan. The caller holds the engine. */
  async sourcesOf(query: string): Promise<TimestampSource[]> {
    const res = await this.engine.simpleQuery(`EXPLAIN (FORMAT JSON, GENERIC_PLAN, VERBOSE) ${query}`);
    if (res.error) throw new MzError(res.error.code, res.error.message, { detail: res.error.detail, hint: res.error.hint });
    const len = res.rows[0].readInt32BE(2);
    const plan = JSON.parse(res.rows[0].toString('utf8', 6, 6 + len)) as unknown;
    const names = new Set<string>();
    const walk = (node: unknown) => {
      if (Array.isArray(node)) return node.forEach(walk);
      if (!node || typeof node !== 'object') return;
      const o = node as Record<string, unknown>;
      if (typeof o['Relation Name'] === 'string' && typeof o['Schema'] === 'string') names.add(`${quoteIdent(o['Schema'] as string)}.${quoteIdent(o['Relation Name'] as string)}`);
      for (const v of Object.values(o)) walk(v);
    };
    walk(plan);
    if (names.size === 0) return [];
    const rows = await this.engine.query(
      `SELECT c.oid::text, n.nspname::text, c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE c.oid = ANY (SELECT to_regclass(x)::oid FROM unnest($1::text[]) x)
         AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'mz_catalog', 'mz_internal') ORDER BY c.oid`,
      [`{${[...names].map((n) => '"' + n.replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"').join(',')}}`],
    );
    return rows.map(([oid, schema, name]) => ({
      oid: oid!,
      id: `u${oid}`,
      fullName: `materialize.${schema}.${name}`,
      since: this.writes.get(oid!) ?? 0n,
    }));
  }

  /**
   * Chooses the timestamp for a read of `sources` (determine_timestamp_via_constraints): lower bounds are
   * the inputs' since, the query's AS OF and, for strict serializable reads without AS OF, the oracle;
   * AS OF t also bounds it above. Throws Materialize's error when no timestamp satisfies them.
   */
  determine(sources: TimestampSource[], when: QueryWhen, isolation: IsolationLevel): Determination {
    const oracle = this.readTs();
    const upper = oracle + 1n;
    const since = sources.reduce((m, s) => (s.since > m ? s.since : m), 0n);
    const lower: [bigint, Reason][] = [];
    const upperConstraints: [bigint, Reason][] = [];
    if (sources.length) lower.push([since, { kind: 'StorageInput', ids: sources.map((s) => s.id) }]);
    if (when.kind !== 'immediately') {
      lower.push([when.ts, { kind: 'QueryAsOf' }]);
      if (when.kind === 'at') upperConstraints.push([when.ts, { kind: 'QueryAsOf' }]);
    }
    // needs_linearized_read_ts: strict serializable reads that may use the oracle (no AS OF)
    const oracleReadTs = when.kind === 'immediately' && isolation === 'StrictSerializable' ? oracle : null;
    if (oracleReadTs !== null) lower.push([oracleReadTs, { kind: 'IsolationLevel', level: isolation }]);
    const lowerBound = lower.reduce((m, [t]) => (t > m ? t : m), 0n);
    const upperBound = upperConstraints.length ? upperConstraints.reduce((m, [t]) => (t < m ? t : m), upperConstraints[0][0]) : null;
    // minimize(): keep only the binding constraints
    const bindingLower = lower.filter(([t]) => t === lowerBound);
    const bindingUpper = upperConstraints.filter(([t]) => t === upperBound);
    // preference: freshest available for serializable reads that can advance to the upper, else stalest valid
    let chosen = lowerBound;
    if (when.kind === 'immediately' && isolation === 'Serializable' && oracle > chosen) chosen = oracle;
    if (upperBound !== null && upperBound < chosen) {
      throw new MzError(SqlState.DataException, 'could not find a valid timestamp for the query', {
        detail: `Constraints:\n${formatConstraints(bindingLower, bindingUpper)}`,
      });
    }
    return {
      chosen,
      oracleReadTs,
      since,
      upper,
      sources,
      lower: bindingLower,
      upperConstraints: bindingUpper,
      respondImmediately: chosen < upper,
      sessionWallTime: new Date(),
    };
  }

  /**
   * Determines the timestamp of a read of `query` and waits until it is complete (Materialize waits for
   * the inputs' upper to pass it). Then, holding the engine, checks it again (a write may have come while
   * waiting) and runs `read` — which must fix the rows at once (a query, or a cursor declared) — so no
   * write can land between the check and the read.
   */
  async readAt<T>(
    owner: EngineOwner,
    take: (signal: AbortSignal) => Promise<void>,
    query: string,
    when: QueryWhen,
    isolation: IsolationLevel,
    signal: AbortSignal,
    read: (d: Determination) => Promise<T>,
    opts: { releaseWhileWaiting: boolean },
  ): Promise<{ determination: Determination; result: T }> {
    for (;;) {
      await take(signal);
      await this.collectWrites();
      const d = this.determine(await this.sourcesOf(query), when, isolation);
      if (d.respondImmediately) return { determination: d, result: await read(d) };
      // not complete yet: give the engine back (unless a transaction keeps it) while the clock catches up
      if (opts.releaseWhileWaiting) this.engine.release(owner);
      await sleepUntil(d.chosen, signal);
    }
  }
}

function formatConstraints(lower: [bigint, Reason][], upper: [bigint, Reason][]): string {
  let out = '';
  const ts = (t: bigint) => displayTs(t);
  if (lower.length) out += 'lower:\n' + lower.map(([t, r]) => `  (${reasonText(r)}): [${ts(t)}]\n`).join('');
  if (upper.length) out += 'upper:\n' + upper.map(([t, r]) => `  (${reasonText(r)}): [${ts(t)}]\n`).join('');
  return out;
}

function reasonText(r: Reason): string {
  switch (r.kind) {
    case 'StorageInput':
      return `Storage inputs: [${r.ids.join(', ')}]`;
    case 'IsolationLevel':
      return `Isolation level: ${r.level}`;
    case 'QueryAsOf':
      return "Query's AS OF";
  }
}

/** DisplayableInTimeline for EpochMilliseconds: `{:13} (%Y-%m-%d %H:%M:%S%.3f)`. */
function displayTs(t: bigint): string {
  const ms = Number(t);
  const s = String(t).padStart(13, ' ');
  if (!Number.isSafeInteger(ms)) return s;
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return s;
  return `${s} (${d.toISOString().replace('T', ' ').replace('Z', '')})`;
}

/** EXPLAIN TIMESTAMP's text (TimestampExplanation's Display). */
export function explainText(d: Determination): string {
  const list = (t: bigint) => `[${displayTs(t)}]`;
  let out = '';
  out += `                query timestamp: ${displayTs(d.chosen)}\n`;
  if (d.oracleReadTs !== null) out += `          oracle read timestamp: ${displayTs(d.oracleReadTs)}\n`;
  out += `largest not in advance of upper: ${displayTs(d.upper - 1n)}\n`;
  out += `                          upper:${list(d.upper)}\n`;
  out += `                          since:${list(d.since)}\n`;
  out += `        can respond immediately: ${d.respondImmediately}\n`;
  out += `                       timeline: Some(EpochMilliseconds)\n`;
  out += `              session wall time: ${displayTs(BigInt(d.sessionWallTime.getTime()))}\n`;
  for (const s of d.sources) {
    out += `\nsource ${s.fullName} (${s.id}, storage):\n`;
    out += `                  read frontier:${list(s.since)}\n`;
    out += `                 write frontier:${list(d.upper)}\n`;
  }
  out += `\nbinding constraints:\n${formatConstraints(d.lower, d.upperConstraints)}`;
  return out;
}

/** EXPLAIN TIMESTAMP AS JSON: serde_json::to_string_pretty of TimestampExplanation. */
export function explainJson(d: Determination): string {
  // u64 timestamps as JSON numbers (they may exceed a double): placeholders replaced after stringify
  const n = (t: bigint) => `\u0000${t}\u0000`;
  const reason = (r: Reason) => {
    switch (r.kind) {
      case 'StorageInput':
        return { StorageInput: r.ids.map((id) => ({ User: n(BigInt(id.slice(1))) })) };
      case 'IsolationLevel':
        return { IsolationLevel: r.level };
      case 'QueryAsOf':
        return 'QueryAsOf';
    }
  };
  const value = {
    determination: {
      timestamp_context: { TimelineTimestamp: { timeline: 'EpochMilliseconds', chosen_ts: n(d.chosen), oracle_ts: d.oracleReadTs === null ? null : n(d.oracleReadTs) } },
      since: { elements: [n(d.since)] },
      upper: { elements: [n(d.upper)] },
      largest_not_in_advance_of_upper: n(d.upper - 1n),
      oracle_read_ts: d.oracleReadTs === null ? null : n(d.oracleReadTs),
      session_oracle_read_ts: null,
      real_time_recency_ts: null,
      constraints: {
        lower: d.lower.map(([t, r]) => [{ elements: [n(t)] }, reason(r)]),
        upper: d.upperConstraints.map(([t, r]) => [{ elements: [n(t)] }, reason(r)]),
      },
    },
    sources: d.sources.map((s) => ({ name: `${s.fullName} (${s.id}, storage)`, read_frontier: [n(s.since)], write_frontier: [n(d.upper)] })),
    session_wall_time: d.sessionWallTime.toISOString(),
    respond_immediately: d.respondImmediately,
  };
  return JSON.stringify(value, null, 2).replace(/"\\u0000(\d+)\\u0000"/g, '$1');
}

function sleepUntil(ts: bigint, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(canceledError());
    const wait = Math.min(Number(ts - BigInt(Date.now())) + 1, 2 ** 31 - 1);
    const t = setTimeout(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(1, wait),
    );
    const onAbort = () => {
      clearTimeout(t);
      reject(canceledError());
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

const U64_MAX = 2n ** 64n - 1n;

function invalidAsOf(): MzError {
  return new MzError(SqlState.SystemError, 'AS OF or UP TO should be castable to a (non-null) mz_timestamp value');
}

/**
 * Evaluates an AS OF expression to an mz_timestamp (src/sql/src/plan/query.rs plan_as_of_or_up_to): a
 * constant without unmaterializable functions, cast to mz_timestamp (integers and numerics without a
 * fraction in 0..2^64, timestamps as milliseconds since the epoch, text holding either); anything else, a
 * NULL or an evaluation error is InvalidAsOfUpTo. The caller holds the engine.
 */
export async function evaluateAsOf(engine: Engine, expr: string, tokens: Token[]): Promise<bigint> {
  if (callsUnmaterializable(tokens, false)) {
    throw new MzError(SqlState.FeatureNotSupported, 'calling an unmaterializable function in AS OF or UP TO not yet supported');
  }
  const res = await engine.simpleQuery(`SELECT pg_typeof(x)::text, x::text FROM (SELECT (${expr}) AS x) s`);
  if (res.error) {
    // a name that does not resolve is the planner's error; an evaluation error is InvalidAsOfUpTo
    if (/^(42|0A)/.test(res.error.code)) throw new MzError(res.error.code, res.error.message, { detail: res.error.detail, hint: res.error.hint });
    throw invalidAsOf();
  }
  const row = res.rows[0];
  const cells: (string | null)[] = [];
  let p = 2;
  for (let k = 0; k < 2; k++) {
    const len = row.readInt32BE(p);
    p += 4;
    cells.push(len < 0 ? null : row.toString('utf8', p, p + len));
    if (len > 0) p += len;
  }
  const [type, value] = cells;
  if (value === null) throw invalidAsOf();
  const fromNumber = (v: string): bigint => {
    if (!/^\d+(\.0*)?$/.test(v)) throw invalidAsOf();
    const n = BigInt(v.replace(/\.0*$/, ''));
    if (n > U64_MAX) throw invalidAsOf();
    return n;
  };
  const fromTimestamp = async (v: string): Promise<bigint> => {
    const r = await engine.query(`SELECT floor(extract(epoch FROM $1::timestamptz) * 1000)::text`, [v]);
    return fromNumber(r[0][0]!);
  };
  switch (type) {
    case 'smallint':
    case 'integer':
    case 'bigint':
    case 'numeric':
      return fromNumber(value);
    case 'timestamp without time zone':
      return fromTimestamp(value + '+00');
    case 'timestamp with time zone':
    case 'date':
      return fromTimestamp(value);
    case 'text':
    case 'unknown':
    case 'character varying':
      if (/^\s*\d+\s*$/.test(value)) return fromNumber(value.trim());
      try {
        return await fromTimestamp(value);
      } catch {
        throw invalidAsOf();
      }
    default:
      throw new MzError(SqlState.SystemError, `AS OF or UP TO does not support casting from ${type} to mz_timestamp`);
  }
}

/** plan_as_of: the QueryWhen of a SELECT's AS OF clause (the caller holds the engine). */
export async function planAsOf(engine: Engine, asOf: AsOf | null): Promise<QueryWhen> {
  if (!asOf) return { kind: 'immediately' };
  const ts = await evaluateAsOf(engine, asOf.expr, asOf.exprTokens);
  return asOf.atLeast ? { kind: 'at_least', ts } : { kind: 'at', ts };
}

/**
 * plan_select_inner: unmaterializable functions other than mz_now() are evaluated without regard to AS OF,
 * so Materialize refuses them in an AS OF query.
 */
export function checkAsOfQuery(queryTokens: Token[], asOf: AsOf | null): void {
  if (asOf && callsUnmaterializable(queryTokens, true)) {
    throw new MzError(SqlState.FeatureNotSupported, 'unmaterializable function (except `mz_now`) in an AS OF query not yet supported');
  }
}

/** The session's transaction_isolation as the timestamp selection knows it. */
export function isolationLevel(value: string): IsolationLevel {
  return value.trim().toLowerCase() === 'serializable' ? 'Serializable' : 'StrictSerializable';
}
