/** The optional payload codec: real AES-256-GCM round trips through Temporal's own data converter functions. */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import {
  AesGcmPayloadCodec,
  ENCRYPTED_ENCODING,
  PAYLOAD_KEY_ENV,
  PAYLOAD_PREVIOUS_KEYS_ENV,
  dataConverterFromEnv,
  keyId,
  payloadCodecFromEnv,
} from '../../platform/payload-codec';

const newKey = () => randomBytes(32);
const toPayloads = async (...values: unknown[]): Promise<Payload[]> => values.map((v) => defaultPayloadConverter.toPayload(v));
const fromPayload = (p: Payload) => defaultPayloadConverter.fromPayload(p);
const text = (b: Uint8Array | null | undefined) => Buffer.from(b ?? new Uint8Array()).toString('utf8');
const SECRET_MARKER = 'postgres://materialize:s3cr3t-pa55@db:6875/materialize';

describe('payload codec (AES-256-GCM)', () => {
  it('round-trips values through encode and decode, and the encrypted bytes do not contain the plaintext', async () => {
    const codec = new AesGcmPayloadCodec(newKey());
    const value = { exportName: 'audit', note: SECRET_MARKER, n: 42, nested: [1, 'two', null] };
    const [plain] = await toPayloads(value);
    const [encrypted] = await codec.encode([plain]);
    assert.equal(text(encrypted.metadata!.encoding), ENCRYPTED_ENCODING);
    assert.equal(text(encrypted.metadata!['encryption-key-id']), codec.keyId);
    assert.ok(!Buffer.from(encrypted.data!).includes(Buffer.from('s3cr3t')), 'ciphertext leaks the plaintext');
    const [decoded] = await codec.decode([encrypted]);
    assert.deepEqual(fromPayload(decoded), value);
    assert.equal(text(decoded.metadata!.encoding), 'json/plain');
  });

  it('uses a fresh nonce each time: the same value encrypts to different bytes', async () => {
    const codec = new AesGcmPayloadCodec(newKey());
    const p: Payload = { metadata: { encoding: new Uint8Array(Buffer.from('json/plain')) }, data: new Uint8Array(Buffer.from('"x"')) };
    const [a, b] = await codec.encode([p, p]);
    assert.notDeepEqual(Buffer.from(a.data!), Buffer.from(b.data!));
  });

  it('keeps binary/null and empty payloads intact', async () => {
    const codec = new AesGcmPayloadCodec(newKey());
    const payloads = await toPayloads(undefined, new Uint8Array([0, 255, 1]), '');
    const back = await codec.decode(await codec.encode(payloads));
    assert.deepEqual(back, payloads.map((p) => ({ metadata: p.metadata, data: p.data ?? new Uint8Array() })));
  });

  it('refuses a tampered payload instead of decoding altered data', async () => {
    const codec = new AesGcmPayloadCodec(newKey());
    const [enc] = await codec.encode(await toPayloads({ bucket: 'b' }));
    const data = Buffer.from(enc.data!);
    data[data.length - 20] ^= 1;
    await assert.rejects(codec.decode([{ ...enc, data: new Uint8Array(data) }]), /authenticate|unable/i);
    await assert.rejects(codec.decode([{ ...enc, data: new Uint8Array(4) }]), /truncated/);
  });

  it('passes payloads it did not encrypt through decode (Web UI input, runs from before the key was set)', async () => {
    const codec = new AesGcmPayloadCodec(newKey());
    const plain = await toPayloads({ exportName: 'from-ui' });
    assert.deepEqual(await codec.decode(plain), plain);
  });

  it('decodes with a previous key after rotation, and names the variables when the key is unknown', async () => {
    const oldKey = newKey();
    const [enc] = await new AesGcmPayloadCodec(oldKey).encode(await toPayloads('old'));
    const rotated = new AesGcmPayloadCodec(newKey(), [oldKey]);
    assert.equal(fromPayload((await rotated.decode([enc]))[0]), 'old');
    const [reenc] = await rotated.encode(await toPayloads('new'));
    assert.notEqual(text(reenc.metadata!['encryption-key-id']), keyId(oldKey), 'encodes with the current key');
    const without = new AesGcmPayloadCodec(newKey());
    await assert.rejects(without.decode([enc]), new RegExp(`${keyId(oldKey)}.*${PAYLOAD_PREVIOUS_KEYS_ENV}`));
  });

  describe('configuration from the environment', () => {
    it('is off without a key, and on with a valid one', () => {
      assert.equal(dataConverterFromEnv({}), undefined);
      assert.equal(payloadCodecFromEnv({ [PAYLOAD_KEY_ENV]: '  ' }), undefined);
      const key = newKey();
      const codec = payloadCodecFromEnv({ [PAYLOAD_KEY_ENV]: key.toString('base64') });
      assert.equal(codec?.keyId, keyId(key));
      assert.equal(dataConverterFromEnv({ [PAYLOAD_KEY_ENV]: key.toString('base64') })?.payloadCodecs?.length, 1);
    });

    it('rejects keys of the wrong length or encoding with a message that says how to make one', () => {
      for (const bad of ['short', randomBytes(16).toString('base64'), randomBytes(32).toString('hex'), '!!!!' + 'A'.repeat(40)]) {
        assert.throws(
          () => payloadCodecFromEnv({ [PAYLOAD_KEY_ENV]: bad }),
          (e: Error) => e.name === 'InvalidInputError' && e.message.includes(PAYLOAD_KEY_ENV) && /openssl rand -base64 32/.test(e.message),
          bad,
        );
      }
    });

    it('never puts the key into an error message', () => {
      const almost = randomBytes(31).toString('base64');
      assert.throws(() => payloadCodecFromEnv({ [PAYLOAD_KEY_ENV]: almost }), (e: Error) => !e.message.includes(almost));
    });

    it('requires the current key when previous keys are set, and validates each previous key', () => {
      assert.throws(() => payloadCodecFromEnv({ [PAYLOAD_PREVIOUS_KEYS_ENV]: newKey().toString('base64') }), /MZ_S3_EXPORT_PAYLOAD_KEY/);
      assert.throws(
        () => payloadCodecFromEnv({ [PAYLOAD_KEY_ENV]: newKey().toString('base64'), [PAYLOAD_PREVIOUS_KEYS_ENV]: `${newKey().toString('base64')},nope` }),
        new RegExp(PAYLOAD_PREVIOUS_KEYS_ENV),
      );
    });
  });
});
