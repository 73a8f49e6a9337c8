/**
 * The Materialize catalog relations mz-local keeps inside the engine, so any SELECT over them works:
 * mz_catalog.mz_connections (a table mz-local maintains) and mz_internal.mz_aws_connections (a view whose
 * principal, external_id and example_trust_policy derive from the environment id and principal), plus
 * views shaped like mz_catalog's mz_schemas, mz_databases, mz_tables, mz_views, mz_materialized_views and
 * mz_objects over the engine's own catalog; Materialize's functions (mz_version, mz_version_num,
 * mz_environment_id, mz_now) and, in mz_catalog ahead of pg_catalog on the search path, its versions of
 * version(), current_database() and jsonb_pretty(); and a jsonb → text cast that prints like Materialize.
 */
import { HUMAN_VERSION, VERSION_NUM, VERSION_STRING } from '../build-info';

const literal = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** Idempotent DDL run at every start (also over a persisted data directory). */
export const CATALOG_DDL = `
CREATE SCHEMA IF NOT EXISTS mz_catalog;
CREATE SCHEMA IF NOT EXISTS mz_internal;

CREATE TABLE IF NOT EXISTS mz_internal.mz_local_meta (key text PRIMARY KEY, value text NOT NULL);
CREATE SEQUENCE IF NOT EXISTS mz_internal.mz_local_user_id_seq START 1;
CREATE SEQUENCE IF NOT EXISTS mz_internal.mz_local_oid_seq START 20000;

CREATE TABLE IF NOT EXISTS mz_catalog.mz_connections (
  id text PRIMARY KEY,
  oid oid NOT NULL,
  schema_id text NOT NULL,
  name text NOT NULL,
  type text NOT NULL,
  owner_id text NOT NULL,
  privileges text[] NOT NULL,
  create_sql text NOT NULL,
  redacted_create_sql text NOT NULL
);

-- Secrets: names only (catalog/secrets.ts keeps the values outside the engine).
CREATE TABLE IF NOT EXISTS mz_catalog.mz_secrets (
  id text PRIMARY KEY,
  oid oid NOT NULL,
  schema_id text NOT NULL,
  name text NOT NULL,
  owner_id text NOT NULL,
  privileges text[] NOT NULL
);

CREATE TABLE IF NOT EXISTS mz_internal.mz_local_aws_connection_store (
  id text PRIMARY KEY REFERENCES mz_catalog.mz_connections (id) ON DELETE CASCADE,
  endpoint text,
  region text,
  access_key_id text,
  access_key_id_secret_id text,
  secret_access_key_secret_id text,
  session_token text,
  session_token_secret_id text,
  assume_role_arn text,
  assume_role_session_name text
);

-- Clusters (src/catalog/src/builtin.rs MZ_CLUSTERS, MZ_CLUSTER_REPLICAS): the built-in ones and quickstart
-- (size 25cc, replication factor 1), as a fresh Materialize environment has them. mz-local runs every
-- query on its one engine; the cluster is recorded, not used.
CREATE TABLE IF NOT EXISTS mz_catalog.mz_clusters (
  id text PRIMARY KEY,
  name text NOT NULL UNIQUE,
  owner_id text NOT NULL,
  privileges text[] NOT NULL,
  managed boolean NOT NULL,
  size text,
  replication_factor integer,
  disk boolean,
  availability_zones text[],
  introspection_debugging boolean,
  introspection_interval interval
);
CREATE TABLE IF NOT EXISTS mz_catalog.mz_cluster_replicas (
  id text PRIMARY KEY,
  name text NOT NULL,
  cluster_id text NOT NULL REFERENCES mz_catalog.mz_clusters (id) ON DELETE CASCADE,
  size text,
  availability_zone text,
  owner_id text NOT NULL,
  disk boolean
);
INSERT INTO mz_catalog.mz_clusters VALUES
  ('s1', 'mz_system', 's1', '{s1=UC/s1}', true, '25cc', 1, true, '{}', false, '1 second'),
  ('s2', 'mz_catalog_server', 's1', '{s1=UC/s1}', true, '25cc', 1, true, '{}', false, '1 second'),
  ('s3', 'mz_probe', 's1', '{s1=UC/s1}', true, '25cc', 1, true, '{}', false, '1 second'),
  ('s4', 'mz_support', 's1', '{s1=UC/s1}', true, '25cc', 0, true, '{}', false, '1 second'),
  ('s5', 'mz_analytics', 's1', '{s1=UC/s1}', true, '25cc', 0, true, '{}', false, '1 second'),
  ('u1', 'quickstart', 'u1', '{u1=UC/u1}', true, '25cc', 1, true, '{}', false, '1 second')
ON CONFLICT DO NOTHING;
INSERT INTO mz_catalog.mz_cluster_replicas VALUES
  ('s1', 'r1', 's1', '25cc', NULL, 's1', true),
  ('s2', 'r1', 's2', '25cc', NULL, 's1', true),
  ('s3', 'r1', 's3', '25cc', NULL, 's1', true),
  ('u1', 'r1', 'u1', '25cc', NULL, 'u1', true)
ON CONFLICT DO NOTHING;
CREATE SEQUENCE IF NOT EXISTS mz_internal.mz_local_cluster_id_seq START 2;
CREATE SEQUENCE IF NOT EXISTS mz_internal.mz_local_replica_id_seq START 2;
CREATE OR REPLACE VIEW mz_internal.mz_show_clusters AS
  SELECT c.name, coalesce(string_agg(r.name || ' (' || r.size || ')', ', ' ORDER BY r.name), '') AS replicas, ''::text AS comment
  FROM mz_catalog.mz_clusters c LEFT JOIN mz_catalog.mz_cluster_replicas r ON r.cluster_id = c.id
  GROUP BY c.id, c.name;

-- Statement log of the statements mz-local executes itself (COPY ... TO, AS OF reads, EXPLAIN TIMESTAMP),
-- with the columns of Materialize's mz_internal.mz_recent_activity_log (src/catalog/src/builtin.rs).
CREATE TABLE IF NOT EXISTS mz_internal.mz_recent_activity_log (
  execution_id uuid NOT NULL,
  sample_rate double precision NOT NULL,
  cluster_id text,
  application_name text NOT NULL,
  cluster_name text,
  database_name text NOT NULL,
  search_path text[] NOT NULL,
  transaction_isolation text NOT NULL,
  execution_timestamp numeric,
  transient_index_id text,
  params text[] NOT NULL,
  mz_version text NOT NULL,
  began_at timestamptz NOT NULL,
  finished_at timestamptz,
  finished_status text,
  error_message text,
  result_size bigint,
  rows_returned bigint,
  execution_strategy text,
  transaction_id numeric NOT NULL,
  prepared_statement_id uuid NOT NULL,
  sql_hash bytea NOT NULL,
  prepared_statement_name text NOT NULL,
  session_id uuid NOT NULL,
  prepared_at timestamptz NOT NULL,
  statement_type text,
  throttled_count numeric NOT NULL,
  connected_at timestamptz NOT NULL,
  initial_application_name text NOT NULL,
  authenticated_user text NOT NULL,
  sql text NOT NULL
);

CREATE TABLE IF NOT EXISTS mz_internal.mz_local_materialized_views (view_oid oid PRIMARY KEY, cluster text NOT NULL);

CREATE OR REPLACE FUNCTION mz_internal.mz_local_schema_id(nsp name, nsp_oid oid) RETURNS text
  LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE nsp
      WHEN 'mz_catalog' THEN 's1'
      WHEN 'pg_catalog' THEN 's2'
      WHEN 'public' THEN 'u3'
      WHEN 'mz_internal' THEN 's4'
      WHEN 'information_schema' THEN 's5'
      ELSE 'u' || nsp_oid::text END
  $$;

CREATE OR REPLACE VIEW mz_internal.mz_aws_connections AS
  SELECT s.id, s.endpoint, s.region, s.access_key_id, s.access_key_id_secret_id,
         s.secret_access_key_secret_id, s.session_token, s.session_token_secret_id,
         s.assume_role_arn, s.assume_role_session_name,
         CASE WHEN s.assume_role_arn IS NOT NULL THEN m.principal END AS principal,
         CASE WHEN s.assume_role_arn IS NOT NULL THEN 'mz_' || m.environment_id || '_' || s.id END AS external_id,
         CASE WHEN s.assume_role_arn IS NOT NULL THEN jsonb_build_object(
           'Version', '2012-10-17',
           'Statement', jsonb_build_array(jsonb_build_object(
             'Effect', 'Allow',
             'Principal', jsonb_build_object('AWS', m.principal),
             'Action', 'sts:AssumeRole',
             'Condition', jsonb_build_object('StringEquals',
               jsonb_build_object('sts:ExternalId', 'mz_' || m.environment_id || '_' || s.id)))))
         END AS example_trust_policy
  FROM mz_internal.mz_local_aws_connection_store s
  CROSS JOIN (
    SELECT max(value) FILTER (WHERE key = 'principal') AS principal,
           max(value) FILTER (WHERE key = 'environment_id') AS environment_id
    FROM mz_internal.mz_local_meta
  ) m;

CREATE OR REPLACE VIEW mz_catalog.mz_databases AS
  SELECT 'u1'::text AS id, d.oid, 'materialize'::text AS name, 'u1'::text AS owner_id, '{u1=UC/u1}'::text[] AS privileges
  FROM pg_database d WHERE d.datname = pg_catalog.current_database();

CREATE OR REPLACE VIEW mz_catalog.mz_schemas AS
  SELECT mz_internal.mz_local_schema_id(n.nspname, n.oid) AS id, n.oid,
         CASE WHEN n.nspname IN ('mz_catalog', 'pg_catalog', 'mz_internal', 'information_schema') THEN NULL ELSE 'u1' END AS database_id,
         n.nspname::text AS name,
         CASE WHEN n.nspname IN ('mz_catalog', 'pg_catalog', 'mz_internal', 'information_schema') THEN 's1' ELSE 'u1' END AS owner_id,
         '{u1=UC/u1}'::text[] AS privileges
  FROM pg_namespace n
  WHERE n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%';

CREATE OR REPLACE VIEW mz_catalog.mz_tables AS
  SELECT 'u' || c.oid::text AS id, c.oid, mz_internal.mz_local_schema_id(n.nspname, n.oid) AS schema_id,
         c.relname::text AS name, 'u1'::text AS owner_id, '{u1=arwd/u1}'::text[] AS privileges, NULL::text AS source_id
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'mz_catalog', 'mz_internal')
    AND n.nspname NOT LIKE 'pg_toast%';

CREATE OR REPLACE VIEW mz_catalog.mz_materialized_views AS
  SELECT 'u' || c.oid::text AS id, c.oid, mz_internal.mz_local_schema_id(n.nspname, n.oid) AS schema_id,
         c.relname::text AS name, 'u1'::text AS cluster_id, pg_get_viewdef(c.oid) AS definition,
         'u1'::text AS owner_id, '{u1=r/u1}'::text[] AS privileges,
         'CREATE MATERIALIZED VIEW ' || quote_ident(n.nspname) || '.' || quote_ident(c.relname) || ' AS ' || pg_get_viewdef(c.oid) AS create_sql,
         'CREATE MATERIALIZED VIEW ' || quote_ident(n.nspname) || '.' || quote_ident(c.relname) || ' AS ' || pg_get_viewdef(c.oid) AS redacted_create_sql
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN mz_internal.mz_local_materialized_views mv ON mv.view_oid = c.oid
  WHERE c.relkind = 'v';

CREATE OR REPLACE VIEW mz_catalog.mz_views AS
  SELECT 'u' || c.oid::text AS id, c.oid, mz_internal.mz_local_schema_id(n.nspname, n.oid) AS schema_id,
         c.relname::text AS name, pg_get_viewdef(c.oid) AS definition, 'u1'::text AS owner_id, '{u1=r/u1}'::text[] AS privileges,
         'CREATE VIEW ' || quote_ident(n.nspname) || '.' || quote_ident(c.relname) || ' AS ' || pg_get_viewdef(c.oid) AS create_sql,
         'CREATE VIEW ' || quote_ident(n.nspname) || '.' || quote_ident(c.relname) || ' AS ' || pg_get_viewdef(c.oid) AS redacted_create_sql
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind = 'v' AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'mz_catalog', 'mz_internal')
    AND NOT EXISTS (SELECT 1 FROM mz_internal.mz_local_materialized_views mv WHERE mv.view_oid = c.oid);

CREATE OR REPLACE VIEW mz_catalog.mz_objects AS
  SELECT id, oid, schema_id, name, 'table'::text AS type, owner_id, NULL::text AS cluster_id, privileges FROM mz_catalog.mz_tables
  UNION ALL SELECT id, oid, schema_id, name, 'view', owner_id, NULL, privileges FROM mz_catalog.mz_views
  UNION ALL SELECT id, oid, schema_id, name, 'materialized-view', owner_id, cluster_id, privileges FROM mz_catalog.mz_materialized_views
  UNION ALL SELECT id, oid, schema_id, name, 'connection', owner_id, NULL, privileges FROM mz_catalog.mz_connections
  UNION ALL SELECT id, oid, schema_id, name, 'secret', owner_id, NULL, privileges FROM mz_catalog.mz_secrets;

CREATE OR REPLACE FUNCTION mz_catalog.mz_version() RETURNS text LANGUAGE sql STABLE AS $$ SELECT ${literal(HUMAN_VERSION)}::text $$;
CREATE OR REPLACE FUNCTION mz_catalog.mz_version_num() RETURNS integer LANGUAGE sql STABLE AS $$ SELECT ${VERSION_NUM} $$;
CREATE OR REPLACE FUNCTION mz_catalog.mz_environment_id() RETURNS text LANGUAGE sql STABLE AS
  $$ SELECT value FROM mz_internal.mz_local_meta WHERE key = 'environment_id' $$;
-- the oracle's read timestamp: the clock in milliseconds, never below the last write's timestamp
-- (timestamps/read-timestamps.ts keeps oracle_ts; a read AS OF t has its mz_now() calls replaced by t)
CREATE OR REPLACE FUNCTION mz_catalog.mz_now() RETURNS numeric LANGUAGE sql STABLE AS
  $$ SELECT greatest(floor(extract(epoch FROM now()) * 1000),
                     coalesce((SELECT value::numeric FROM mz_internal.mz_local_meta WHERE key = 'oracle_ts'), 0)) $$;

-- Tables written since mz-local last looked (statement triggers on every user table), so each table's
-- last write gets a timestamp: its read frontier (see timestamps/read-timestamps.ts).
CREATE TABLE IF NOT EXISTS mz_internal.mz_local_dirty (relid oid PRIMARY KEY);
CREATE OR REPLACE FUNCTION mz_internal.mz_local_note_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO mz_internal.mz_local_dirty VALUES (TG_RELID) ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;
-- Installs the trigger on user tables that lack it (those count as just written) and returns, with them,
-- the tables written since the last call.
CREATE OR REPLACE FUNCTION mz_internal.mz_local_collect_writes() RETURNS TABLE (relid oid) LANGUAGE plpgsql AS $$
DECLARE r record;
BEGIN
  FOR r IN SELECT c.oid, n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE c.relkind IN ('r', 'p') AND c.relpersistence <> 't'
             AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'mz_catalog', 'mz_internal') AND left(n.nspname, 3) <> 'pg_'
             AND NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname = 'mz_local_write_ts')
  LOOP
    EXECUTE format('CREATE TRIGGER mz_local_write_ts AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %I.%I FOR EACH STATEMENT EXECUTE FUNCTION mz_internal.mz_local_note_write()', r.nspname, r.relname);
    relid := r.oid;
    RETURN NEXT;
  END LOOP;
  RETURN QUERY DELETE FROM mz_internal.mz_local_dirty d RETURNING d.relid;
END $$;

-- Materialize's answers where Postgres's differ (mz_catalog comes before pg_catalog on the search path).
CREATE OR REPLACE FUNCTION mz_catalog.version() RETURNS text LANGUAGE sql STABLE AS $$ SELECT ${literal(VERSION_STRING)}::text $$;
-- the session's database (the session sets mz_local.database when it takes the engine)
CREATE OR REPLACE FUNCTION mz_catalog.current_database() RETURNS text LANGUAGE sql STABLE AS
  $$ SELECT coalesce(nullif(current_setting('mz_local.database', true), ''), 'materialize') $$;

-- jsonb as Materialize prints it (compact, keys sorted by bytes, numbers reduced); jsonb::text uses it.
CREATE OR REPLACE FUNCTION mz_internal.mz_local_jsonb_text(j jsonb) RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT CASE jsonb_typeof(j)
    WHEN 'object' THEN '{' || coalesce((SELECT string_agg(to_json(e.key)::text || ':' || mz_internal.mz_local_jsonb_text(e.value), ',' ORDER BY convert_to(e.key, 'UTF8'))
                                        FROM jsonb_each(j) e), '') || '}'
    WHEN 'array' THEN '[' || coalesce((SELECT string_agg(mz_internal.mz_local_jsonb_text(e.value), ',' ORDER BY e.n)
                                       FROM jsonb_array_elements(j) WITH ORDINALITY e(value, n)), '') || ']'
    WHEN 'number' THEN trim_scale((j #>> '{}')::numeric)::text
    WHEN 'string' THEN to_json(j #>> '{}')::text
    WHEN 'null' THEN 'null'
    ELSE j #>> '{}' END
$$;
-- serde_json's pretty printer: two-space indent, "key": value
CREATE OR REPLACE FUNCTION mz_internal.mz_local_jsonb_pretty(j jsonb, depth integer) RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT CASE
    WHEN jsonb_typeof(j) = 'object' AND j <> '{}'::jsonb THEN
      E'{\\n' || (SELECT string_agg(repeat('  ', depth + 1) || to_json(e.key)::text || ': ' || mz_internal.mz_local_jsonb_pretty(e.value, depth + 1), E',\\n' ORDER BY convert_to(e.key, 'UTF8'))
                 FROM jsonb_each(j) e) || E'\\n' || repeat('  ', depth) || '}'
    WHEN jsonb_typeof(j) = 'array' AND j <> '[]'::jsonb THEN
      E'[\\n' || (SELECT string_agg(repeat('  ', depth + 1) || mz_internal.mz_local_jsonb_pretty(e.value, depth + 1), E',\\n' ORDER BY e.n)
                 FROM jsonb_array_elements(j) WITH ORDINALITY e(value, n)) || E'\\n' || repeat('  ', depth) || ']'
    ELSE mz_internal.mz_local_jsonb_text(j) END
$$;
CREATE OR REPLACE FUNCTION mz_catalog.jsonb_pretty(jsonb) RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS
  $$ SELECT mz_internal.mz_local_jsonb_pretty($1, 0) $$;
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_cast WHERE castsource = 'jsonb'::regtype AND casttarget = 'text'::regtype) THEN
    CREATE CAST (jsonb AS text) WITH FUNCTION mz_internal.mz_local_jsonb_text(jsonb) AS ASSIGNMENT;
  END IF;
END $$;
`;
