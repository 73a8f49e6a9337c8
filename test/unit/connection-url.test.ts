import { strict as assert } from 'node:assert';
import { registerSecrets, scrub, scrubDeep, secretValuesFromEnv } from '../../platform/secret-values';
import { connectionLabel, connectionUrlProblem, describeConnectionUrl, redactUrl, redactUrlsIn } from '../../platform/connection-url';

const SECRET = 'Mark3r-s3cret';
const PG = ['postgres:', 'postgresql:'];

/** Every spelling of a password pg accepts in a connection URL, and the two that an unencoded '/' breaks. */
const SPELLINGS = [
  `postgres://me:${SECRET}@db.example.com:6875/materialize`,
  `postgresql://me:${encodeURIComponent(SECRET + '/@:?#')}@db.example.com:6875/materialize?sslmode=require`,
  `postgres://me@db.example.com:6875/materialize?password=${SECRET}`,
  `postgres://db.example.com:6875/materialize?sslmode=require&sslpassword=${SECRET}&sslkey=/keys/${SECRET}.pem`,
  `postgres://me@db.example.com:6875/materialize?PassWord=${SECRET}&options=-c%20x%3D${SECRET}`,
  `postgres://me:${SECRET}/x@db.example.com:6875/materialize`,
  `postgres://me:1234/${SECRET}@db.example.com:6875/materialize`,
  `postgres://me:${SECRET}@db.example.com:6875/materialize#${SECRET}`,
];

describe('connection URLs never show a secret', () => {
  it('redacts every spelling, alone and inside free text', () => {
    for (const url of SPELLINGS) {
      assert.ok(!redactUrl(url).includes(SECRET), `${url} -> ${redactUrl(url)}`);
      assert.ok(!redactUrlsIn(`connect failed for ${url}: refused`).includes(SECRET), url);
      assert.ok(!connectionLabel(url).includes(SECRET), `${url} -> ${connectionLabel(url)}`);
      assert.ok(!JSON.stringify(describeConnectionUrl(url)).includes(SECRET), url);
    }
  });

  it('keeps what an operator needs: user, host, port, database, harmless settings', () => {
    assert.equal(redactUrl('postgres://me:pw@h:6875/db?sslmode=require&password=pw'), 'postgres://me:***@h:6875/db?sslmode=require&password=***');
    assert.deepEqual(describeConnectionUrl('postgres://me:pw@h:6875/db?sslmode=require'), { host: 'h', port: '6875', database: 'db' });
    assert.deepEqual(describeConnectionUrl('postgres://me@h/db?host=other&port=7000'), { host: 'other', port: '7000', database: 'db' }, 'pg lets host and port parameters win');
    assert.equal(connectionLabel('postgres://me:pw@[::1]:6875/materialize'), '::1:6875/materialize');
  });

  it('refuses URLs a password made ambiguous, without repeating them', () => {
    for (const url of SPELLINGS.slice(5, 7)) {
      const problem = connectionUrlProblem(url, PG);
      assert.match(problem ?? '(accepted)', /percent-encode/, url);
      assert.ok(!problem!.includes(SECRET));
    }
    assert.equal(connectionUrlProblem(SPELLINGS[1], PG), undefined);
    assert.equal(connectionUrlProblem(SPELLINGS[2], PG), undefined);
    assert.match(connectionUrlProblem('http://h/db', PG)!, /must start with postgres:\/\//);
    assert.match(connectionUrlProblem(`postgres://me:${SECRET}@`, PG)!, /^(is not a URL|names no host)/);
  });
});

describe('the secret net under the rules', () => {
  it('collects every spelling of every secret the environment holds, and scrubs them from any text', () => {
    const env = {
      MZ_URL: `postgres://me:${encodeURIComponent('pw/' + SECRET)}@h:6875/materialize`,
      MZ_URL_OTHER: `postgres://me@h:6875/materialize?sslmode=require&password=q-${SECRET}&sslkey=/k/${SECRET}.pem`,
      PGPASSWORD: `pg-${SECRET}`,
      AWS_SESSION_TOKEN: `tok-${SECRET}`,
    };
    const values = secretValuesFromEnv(env);
    assert.ok(values.includes(`pw/${SECRET}`) && values.includes(`pw%2F${SECRET}`), 'decoded and encoded spellings');
    assert.ok(!values.includes('require') && !values.includes('materialize'), 'harmless settings and names stay readable');
    registerSecrets(values);
    const text = `ENOENT: no such file or directory, open '/k/${SECRET}.pem'; tried pw/${SECRET} and pg-${SECRET}, tok-${SECRET}`;
    assert.ok(!scrub(text).includes(SECRET), scrub(text));
    assert.deepEqual(scrubDeep({ a: [`x pw%2F${SECRET}`], n: 1 }), { a: ['x ***'], n: 1 });
  });
});
