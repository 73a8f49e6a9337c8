/**
 * Optional encryption of Temporal payloads at rest (workflow inputs, results, activity arguments, memos,
 * heartbeat details, query answers, and failure messages with their stack traces): AES-256-GCM with a key only the worker and the client hold, so the Temporal server and
 * anyone reading its database see ciphertext.
 *
 *   MZ_S3_EXPORT_PAYLOAD_KEY            32 random bytes, base64 (`openssl rand -base64 32`). Unset: no encryption.
 *   MZ_S3_EXPORT_PAYLOAD_PREVIOUS_KEYS  comma-separated older keys, used only to decrypt (key rotation).
 *
 * Payloads without our encoding pass through decode untouched, so runs started before the key was set, or from
 * the Web UI's JSON input, still work. Search attributes are indexed by the server and are never encrypted;
 * they carry no secrets by design. Runs in the worker's main thread and the client, never in the workflow sandbox.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import { InvalidInputError } from '../common/failures';

export const PAYLOAD_KEY_ENV = 'MZ_S3_EXPORT_PAYLOAD_KEY';
export const PAYLOAD_PREVIOUS_KEYS_ENV = 'MZ_S3_EXPORT_PAYLOAD_PREVIOUS_KEYS';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
const KEY_ID_METADATA = 'encryption-key-id';
const CIPHER_METADATA = 'encryption-cipher';
const CIPHER = 'AES-256-GCM';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
// Binds every ciphertext to this format version, so a blob of another scheme never decrypts as ours.
const AAD = Buffer.from('mz-s3-export/payload/v1');

const utf8 = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'));
const text = (b: Uint8Array | null | undefined) => (b ? Buffer.from(b).toString('utf8') : '');

/** A short, stable name for a key that reveals nothing about it: the first 16 hex digits of its SHA-256. */
export function keyId(key: Uint8Array): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

/** Parses one base64 key; the message names the variable and says how to make a good key. */
export function parseKey(value: string, variable: string): Buffer {
  const trimmed = value.trim();
  const key = Buffer.from(trimmed, 'base64');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed) || key.length !== 32) {
    throw new InvalidInputError(
      `must be 32 random bytes in base64 (44 characters, e.g. from 'openssl rand -base64 32'); got ${trimmed.length} characters`,
      variable,
    );
  }
  return key;
}

export class AesGcmPayloadCodec implements PayloadCodec {
  private readonly current: { id: string; key: Buffer };
  private readonly byId: Map<string, Buffer>;

  constructor(key: Buffer, previousKeys: Buffer[] = []) {
    this.current = { id: keyId(key), key };
    this.byId = new Map([key, ...previousKeys].map((k) => [keyId(k), k]));
  }

  get keyId(): string {
    return this.current.id;
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => {
      const nonce = randomBytes(NONCE_BYTES);
      const cipher = createCipheriv('aes-256-gcm', this.current.key, nonce);
      cipher.setAAD(AAD);
      const body = Buffer.concat([nonce, cipher.update(serialize(p)), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: {
          encoding: utf8(ENCRYPTED_ENCODING),
          [CIPHER_METADATA]: utf8(CIPHER),
          [KEY_ID_METADATA]: utf8(this.current.id),
        },
        data: new Uint8Array(body),
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => {
      if (text(p.metadata?.encoding) !== ENCRYPTED_ENCODING) return p;
      const id = text(p.metadata?.[KEY_ID_METADATA]);
      const key = this.byId.get(id);
      if (!key) {
        throw new InvalidInputError(
          `a payload is encrypted with key ${id}, which is neither ${PAYLOAD_KEY_ENV} (${this.current.id}) nor in ${PAYLOAD_PREVIOUS_KEYS_ENV}; add the old key there`,
        );
      }
      const body = Buffer.from(p.data ?? new Uint8Array());
      if (body.length < NONCE_BYTES + TAG_BYTES) throw new Error(`encrypted payload is truncated (${body.length} bytes)`);
      const decipher = createDecipheriv('aes-256-gcm', key, body.subarray(0, NONCE_BYTES));
      decipher.setAAD(AAD);
      decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
      // final() throws when the ciphertext or tag was altered: a tampered payload never decodes.
      const plain = Buffer.concat([decipher.update(body.subarray(NONCE_BYTES, body.length - TAG_BYTES)), decipher.final()]);
      return deserialize(plain);
    });
  }
}

/**
 * The original payload as bytes: a 4-byte length, its metadata as JSON (values base64), then its data. Our own
 * small format instead of the protobuf encoding, so nothing beyond @temporalio/common is needed.
 */
function serialize(p: Payload): Buffer {
  const metadata = Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? new Uint8Array()).toString('base64')]),
  );
  const head = Buffer.from(JSON.stringify(metadata), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(head.length);
  return Buffer.concat([len, head, Buffer.from(p.data ?? new Uint8Array())]);
}

function deserialize(b: Buffer): Payload {
  const headLen = b.readUInt32BE(0);
  const metadata = JSON.parse(b.subarray(4, 4 + headLen).toString('utf8')) as Record<string, string>;
  return {
    metadata: Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, new Uint8Array(Buffer.from(v, 'base64'))])),
    data: new Uint8Array(b.subarray(4 + headLen)),
  };
}

/** The codec configured by the environment, or undefined when no key is set. */
export function payloadCodecFromEnv(env: Record<string, string | undefined> = process.env): AesGcmPayloadCodec | undefined {
  const value = env[PAYLOAD_KEY_ENV];
  const previous = (env[PAYLOAD_PREVIOUS_KEYS_ENV] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!value?.trim()) {
    if (previous.length) throw new InvalidInputError(`is set but ${PAYLOAD_KEY_ENV} is not; set the current key too`, PAYLOAD_PREVIOUS_KEYS_ENV);
    return undefined;
  }
  return new AesGcmPayloadCodec(
    parseKey(value, PAYLOAD_KEY_ENV),
    previous.map((k) => parseKey(k, PAYLOAD_PREVIOUS_KEYS_ENV)),
  );
}

/**
 * The data converter for a worker or client: encrypting payloads, and failure messages and stack traces, when a
 * key is set; Temporal's default otherwise.
 */
export function dataConverterFromEnv(env: Record<string, string | undefined> = process.env): DataConverter | undefined {
  const codec = payloadCodecFromEnv(env);
  return codec ? { payloadCodecs: [codec], failureConverterPath: require.resolve('./encoded-failures') } : undefined;
}
