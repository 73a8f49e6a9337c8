/**
 * Clusters, as Materialize's catalog lists them (mz_catalog.mz_clusters, mz_cluster_replicas, SHOW CLUSTERS).
 * mz-local runs every query on its one engine: a cluster is a name a session chooses (`SET cluster`,
 * `options=--cluster=...`), checked the way Materialize resolves the active cluster and recorded in
 * mz_internal.mz_recent_activity_log; sizes and replicas are catalog entries only.
 *
 * Messages: src/sql/src/catalog.rs (CatalogError::UnknownCluster `unknown cluster 'x'`,
 * ClusterAlreadyExists `cluster 'x' already exists`), src/catalog/src/memory/error.rs (`unknown cluster
 * replica size x`), src/adapter/src/notice.rs (ClusterDoesNotExist, DefaultClusterDoesNotExist).
 */
import type { Engine, EngineOwner } from '../engine/engine';
import { MzError, SqlState, type ErrorFields } from '../errors';
import type { OptionValue } from '../sql/token-stream';
import { invalidOption, optionString } from '../sql/token-stream';

/** Cluster sizes Materialize offers (doc/user/content/sql/create-cluster.md: M.1, legacy cc and t-shirt sizes). */
const SIZES = new Set([
  ...['M.1-nano', 'M.1-micro', 'M.1-xsmall', 'M.1-small', 'M.1-large', 'M.1-1.5xlarge', 'M.1-2xlarge', 'M.1-3xlarge', 'M.1-4xlarge', 'M.1-8xlarge', 'M.1-16xlarge', 'M.1-32xlarge', 'M.1-64xlarge', 'M.1-128xlarge'],
  ...['25cc', '50cc', '100cc', '200cc', '300cc', '400cc', '600cc', '800cc', '1200cc', '1600cc', '3200cc', '6400cc', '128C', '256C', '512C'],
  ...['3xsmall', '2xsmall', 'xsmall', 'small', 'medium', 'large', 'xlarge', '2xlarge', '3xlarge', '4xlarge', '5xlarge', '6xlarge'],
]);

/** Materialize's error when the active cluster does not exist (SQLSTATE XX000: AdapterError::Catalog). */
export function unknownCluster(name: string): MzError {
  return new MzError(SqlState.InternalError, `unknown cluster '${name}'`);
}

/** `SET cluster = x` for a cluster that does not exist: accepted, with Materialize's notice (MZ007). */
export function clusterDoesNotExistNotice(name: string): ErrorFields {
  return {
    severity: 'NOTICE',
    code: 'MZ007',
    message: `cluster "${name}" does not exist`,
    hint: 'Create the cluster with CREATE CLUSTER or pick an extant cluster with SET CLUSTER = name. List available clusters with SHOW CLUSTERS.',
  };
}

/** A connection whose startup options name a cluster that does not exist (MZ005). */
export function defaultClusterDoesNotExistNotice(name: string): ErrorFields {
  return {
    severity: 'NOTICE',
    code: 'MZ005',
    message: `session default cluster "${name}" does not exist`,
    hint: 'Pick an extant cluster with SET CLUSTER = name. Run SHOW CLUSTERS to see available clusters.',
  };
}

export interface ClusterOption {
  name: string;
  value: OptionValue;
}

export class Clusters {
  /** name -> id, mirrored from mz_catalog.mz_clusters so every statement can check its cluster cheaply. */
  private byName = new Map<string, string>();

  constructor(private readonly engine: Engine) {}

  /** Loads the cluster names (the caller holds the engine). */
  async load(): Promise<void> {
    const rows = await this.engine.query('SELECT name, id FROM mz_catalog.mz_clusters');
    this.byName = new Map(rows.map((r) => [r[0]!, r[1]!]));
  }

  idOf(name: string): string | null {
    return this.byName.get(name) ?? null;
  }

  /** The active cluster's id, or Materialize's `unknown cluster 'x'`. */
  resolve(name: string): string {
    const id = this.idOf(name);
    if (!id) throw unknownCluster(name);
    return id;
  }

  /** CREATE CLUSTER name (SIZE = '...', REPLICATION FACTOR = n, ...): a managed cluster with its replicas. */
  async create(name: string, options: ClusterOption[], owner: EngineOwner): Promise<void> {
    const seen = new Set<string>();
    let size: string | null = null;
    let replicationFactor = 1;
    for (const o of options) {
      if (seen.has(o.name)) throw new MzError(SqlState.SystemError, `${o.name} specified more than once`);
      seen.add(o.name);
      if (o.name === 'SIZE') size = optionString(o.value, 'SIZE');
      else if (o.name === 'REPLICATION FACTOR') {
        if (o.value.kind !== 'number' || !/^\d+$/.test(o.value.value)) throw invalidOption('REPLICATION FACTOR', 'cannot use value as number');
        replicationFactor = Number(o.value.value);
      }
    }
    if (!seen.has('SIZE')) throw new MzError(SqlState.SystemError, 'SIZE option must be specified');
    if (!SIZES.has(size!)) throw new MzError(SqlState.InternalError, `unknown cluster replica size ${size}`);
    if (this.byName.has(name)) throw new MzError(SqlState.DuplicateObject, `cluster '${name}' already exists`);
    await this.engine.withEngine(owner, async () => {
      const id = `u${(await this.engine.query(`SELECT nextval('mz_internal.mz_local_cluster_id_seq')::text`))[0][0]}`;
      await this.engine.query(
        `INSERT INTO mz_catalog.mz_clusters VALUES ($1, $2, 'u1', '{u1=UC/u1}', true, $3, $4::int, true, '{}', false, '1 second')`,
        [id, name, size, String(replicationFactor)],
      );
      for (let r = 1; r <= replicationFactor; r++) {
        const rid = `u${(await this.engine.query(`SELECT nextval('mz_internal.mz_local_replica_id_seq')::text`))[0][0]}`;
        await this.engine.query(`INSERT INTO mz_catalog.mz_cluster_replicas VALUES ($1, $2, $3, $4, NULL, 'u1', true)`, [rid, `r${r}`, id, size]);
      }
      this.byName.set(name, id);
    });
  }

  /** DROP CLUSTER [IF EXISTS] names: built-in clusters cannot be dropped. */
  async drop(names: string[], ifExists: boolean, owner: EngineOwner): Promise<ErrorFields[]> {
    const notices: ErrorFields[] = [];
    const ids: string[] = [];
    for (const name of names) {
      const id = this.byName.get(name);
      if (!id) {
        if (!ifExists) throw unknownCluster(name);
        notices.push({ severity: 'NOTICE', code: SqlState.UndefinedObject, message: `cluster "${name}" does not exist, skipping` });
        continue;
      }
      if (id.startsWith('s')) throw new MzError(SqlState.SystemError, `cannot drop system cluster '${name}'`);
      ids.push(id);
    }
    if (ids.length) {
      await this.engine.withEngine(owner, async () => {
        await this.engine.query('DELETE FROM mz_catalog.mz_clusters WHERE id = ANY($1::text[])', [`{${ids.join(',')}}`]);
      });
      for (const [n, id] of [...this.byName]) if (ids.includes(id)) this.byName.delete(n);
    }
    return notices;
  }
}
