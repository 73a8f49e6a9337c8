/** Every workflow the worker registers. Deterministic code only: no Node, AWS or pg imports below here. */
export * from './health';
export * from './onboarding';
export * from './offboarding';
export * from './onboarding-s3-compatible';
export * from './offboarding-s3-compatible';
export * from './export';
export * from './iam-claims';
export * from './expiry';
export * from './snapshot-set';
