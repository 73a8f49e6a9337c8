/**
 * The failure converter used when payload encryption is on (platform/payload-codec.ts): error messages and stack
 * traces travel as an encoded payload, so the codec encrypts them like any input or result (they can name
 * objects, buckets and paths). Pure: the worker bundles it into the workflow sandbox via failureConverterPath.
 */
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
