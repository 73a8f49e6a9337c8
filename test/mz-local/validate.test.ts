/** VALIDATE CONNECTION: trust-policy enforcement from the real IAM documents in moto, and propagation delay. */
import * as assert from 'node:assert/strict';
import { CreateRoleCommand, DeleteRoleCommand, UpdateAssumeRolePolicyCommand } from '@aws-sdk/client-iam';
import type { Client } from 'pg';
import { awsClients, expectPgError, PRINCIPAL, sleep, trustPolicy, uniqueName, useSuite, type SharedStack } from './helpers';

describe('mz-local VALIDATE CONNECTION', function () {
  let stack: SharedStack;
  let c: Client;
  let iam: ReturnType<typeof awsClients>['iam'];

  useSuite({}, (t) => {
    ({ stack, clients: [c] } = t);
    iam = awsClients(stack.moto).iam;
  });
  after(async () => {
    await c?.query('ALTER SYSTEM RESET mz_local_propagation_delay_seconds').catch(() => undefined);
    iam?.destroy();
  });

  /** A role (with `trust` computed from the connection's external ID) and a connection to it. */
  async function roleAndConnection(trust: (externalId: string) => string | null, opts: { createRole?: boolean } = {}) {
    const roleName = uniqueName('vrole');
    const roleArn = `arn:aws:iam::123456789012:role/${roleName}`;
    if (opts.createRole !== false) await iam.send(new CreateRoleCommand({ RoleName: roleName, AssumeRolePolicyDocument: trustPolicy('PENDING') }));
    const conn = uniqueName('vconn').replace(/-/g, '_');
    await c.query(`CREATE CONNECTION ${conn} TO AWS (ASSUME ROLE ARN = '${roleArn}')`);
    const externalId = (await c.query(`SELECT external_id FROM mz_internal.mz_aws_connections a JOIN mz_connections m USING (id) WHERE m.name = $1`, [conn])).rows[0].external_id;
    const doc = trust(externalId);
    if (doc !== null && opts.createRole !== false) await iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: roleName, PolicyDocument: doc }));
    return { roleName, roleArn, conn, externalId };
  }

  const notAuthorized = (roleArn: string) => `User: ${PRINCIPAL} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`;

  it('succeeds when the trust policy names the principal and requires the external ID', async () => {
    const { conn } = await roleAndConnection((id) => trustPolicy(id));
    const r = await c.query(`VALIDATE CONNECTION ${conn}`);
    assert.equal(r.command, 'VALIDATE');
    assert.equal(r.rows.length, 0);
  });

  it("reports AWS's not-authorized message when the external ID does not match", async () => {
    const { conn, roleArn } = await roleAndConnection(() => trustPolicy('mz_some_other_external_id'));
    const e = await expectPgError(() => c.query(`VALIDATE CONNECTION ${conn}`));
    assert.equal(e.message, notAuthorized(roleArn));
    assert.equal(e.code, '58000');
    assert.equal(e.detail, undefined);
  });

  it('reports the not-authorized message when the role does not exist', async () => {
    const { conn, roleArn } = await roleAndConnection(() => null, { createRole: false });
    const e = await expectPgError(() => c.query(`VALIDATE CONNECTION ${conn}`));
    assert.equal(e.message, notAuthorized(roleArn));
  });

  it('reports the not-authorized message when another principal is trusted', async () => {
    const { conn, roleArn } = await roleAndConnection((id) => trustPolicy(id, 'arn:aws:iam::123456789012:role/SomeoneElse'));
    assert.equal((await expectPgError(() => c.query(`VALIDATE CONNECTION ${conn}`))).message, notAuthorized(roleArn));
  });

  it('fails with a distinct error when the trust policy does not require an external ID', async () => {
    const { conn, roleArn } = await roleAndConnection(() => trustPolicy(null));
    const e = await expectPgError(() => c.query(`VALIDATE CONNECTION ${conn}`));
    assert.equal(e.message, 'role trust policy does not require an external ID');
    assert.equal(e.detail, `The trust policy for the connection's role (${roleArn}) is insecure and allows any Materialize customer to assume the role.`);
    assert.equal(e.hint, 'See: https://materialize.com/s/aws-connection-role-trust-policy');
    assert.equal(e.code, '58000');
  });

  it('accepts a StringLike external ID condition that still requires the ID', async () => {
    const { conn } = await roleAndConnection((id) =>
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { AWS: PRINCIPAL }, Action: 'sts:AssumeRole', Condition: { StringLike: { 'sts:ExternalId': id.slice(0, 10) + '*' } } }],
      }),
    );
    await c.query(`VALIDATE CONNECTION ${conn}`);
  });

  it('CREATE CONNECTION ... WITH (VALIDATE = true) validates, and creates nothing when validation fails', async () => {
    const roleName = uniqueName('vrole');
    const roleArn = `arn:aws:iam::123456789012:role/${roleName}`;
    await iam.send(new CreateRoleCommand({ RoleName: roleName, AssumeRolePolicyDocument: trustPolicy('never-matches') }));
    const conn = uniqueName('vconn').replace(/-/g, '_');
    const e = await expectPgError(() => c.query(`CREATE CONNECTION ${conn} TO AWS (ASSUME ROLE ARN = '${roleArn}') WITH (VALIDATE = true)`));
    assert.equal(e.message, notAuthorized(roleArn));
    assert.equal((await c.query('SELECT count(*)::int AS n FROM mz_connections WHERE name = $1', [conn])).rows[0].n, 0);
    // a role that trusts any external ID (insecure) also fails validation at create time
    await iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: roleName, PolicyDocument: trustPolicy(null) }));
    const e2 = await expectPgError(() => c.query(`CREATE CONNECTION ${conn} TO AWS (ASSUME ROLE ARN = '${roleArn}') WITH (VALIDATE = true)`));
    assert.equal(e2.message, 'role trust policy does not require an external ID');
    await c.query(`CREATE CONNECTION ${conn} TO AWS (ASSUME ROLE ARN = '${roleArn}') WITH (VALIDATE = false)`);
    assert.equal((await c.query('SELECT count(*)::int AS n FROM mz_connections WHERE name = $1', [conn])).rows[0].n, 1);
    await iam.send(new DeleteRoleCommand({ RoleName: roleName }));
  });

  it('refuses assumption while a trust-policy change propagates, then succeeds', async function () {
    this.timeout(30_000);
    await c.query('ALTER SYSTEM SET mz_local_propagation_delay_seconds = 2');
    try {
      const { conn, roleName, roleArn, externalId } = await roleAndConnection(() => null);
      await sleep(300); // mz-local has seen the placeholder policy
      await iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: roleName, PolicyDocument: trustPolicy(externalId) }));
      const changedAt = Date.now();
      const e = await expectPgError(() => c.query(`VALIDATE CONNECTION ${conn}`));
      assert.equal(e.message, notAuthorized(roleArn), 'still propagating: the same message AWS gives');
      let attempts = 1;
      for (;;) {
        attempts++;
        try {
          await c.query(`VALIDATE CONNECTION ${conn}`);
          break;
        } catch (err) {
          assert.equal((err as Error).message, notAuthorized(roleArn));
          if (Date.now() - changedAt > 10_000) throw err;
          await sleep(250);
        }
      }
      const waited = Date.now() - changedAt;
      assert.ok(waited >= 1700, `validation waited for propagation (${waited} ms)`);
      assert.ok(attempts > 2);
    } finally {
      await c.query('ALTER SYSTEM RESET mz_local_propagation_delay_seconds');
    }
  });
});
