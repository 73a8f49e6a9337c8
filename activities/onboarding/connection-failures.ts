/**
 * What Materialize's answers to VALIDATE CONNECTION and to the probe COPY mean for onboarding: which ones
 * waiting can fix (IAM propagation) and which ones need the user. Pure, so the rules are unit-tested.
 */

export type ValidateFailure =
  /** The trust policy lets the role be assumed without the external ID: fix it, do not wait. */
  | 'insecure-trust-policy'
  /** AWS refused the assumption: normal for seconds to minutes after a trust-policy change. */
  | 'not-yet-assumable'
  /** No such connection (dropped meanwhile). */
  | 'unknown-connection'
  /** Anything else: retried like any transient error, within the step's time bound. */
  | 'other';

export function classifyValidateFailure(text: string): ValidateFailure {
  if (/does not require an external id/i.test(text)) return 'insecure-trust-policy';
  if (/unknown (catalog item|connection)|does not exist/i.test(text) && !/role/i.test(text)) return 'unknown-connection';
  if (/not authorized to perform:? ?sts:AssumeRole|AccessDenied|is not authorized|InvalidClientTokenId|NoSuchEntity/i.test(text))
    return 'not-yet-assumable';
  return 'other';
}

export type ProbeFailure = 'access-denied' | 'path-not-empty' | 'unknown-connection' | 'other';

export function classifyProbeFailure(text: string): ProbeFailure {
  if (/AccessDenied|Access Denied|not authorized/i.test(text)) return 'access-denied';
  if (/path is not empty/i.test(text)) return 'path-not-empty';
  if (/unknown (catalog item|connection)/i.test(text)) return 'unknown-connection';
  return 'other';
}
