/**
 * A small IAM policy evaluator: enough of AWS's policy language to decide what a real account would for
 * the requests mz-local makes (sts:AssumeRole against a role's trust policy; s3:ListBucket, s3:PutObject,
 * s3:DeleteObject against the role's identity policies).
 *
 * Semantics follow AWS's documented evaluation logic: an explicit Deny wins, otherwise any matching Allow
 * allows, otherwise the request is implicitly denied. Within a statement, Action/NotAction,
 * Resource/NotResource, Principal/NotPrincipal and every condition must match. Within a condition block
 * all operators and keys must hold (AND), and any of a key's values may match (OR).
 *
 * Anything this evaluator cannot evaluate (an unknown condition operator, policy variables, numeric/date/IP
 * operators, a malformed statement) is treated conservatively: an Allow statement it cannot evaluate does
 * not allow, a Deny statement it cannot evaluate denies. Each such case is reported in `notes`.
 */

export interface PolicyDocument {
  Version?: string;
  Statement?: PolicyStatement | PolicyStatement[];
}

export interface PolicyStatement {
  Sid?: string;
  Effect?: string;
  Principal?: unknown;
  NotPrincipal?: unknown;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Condition?: Record<string, Record<string, unknown>>;
}

export interface RequestContext {
  /** e.g. "sts:AssumeRole", "s3:PutObject". */
  action: string;
  /** The resource ARN; omitted for trust policies (the role itself is the resource). */
  resource?: string;
  /** The calling principal, for policies with Principal elements (trust policies). */
  principal?: { arn: string; account: string };
  /** Condition keys and their values (key names are case-insensitive). */
  keys?: Record<string, string | undefined>;
}

export type Decision = 'allow' | 'explicit-deny' | 'implicit-deny';

export interface EvaluationResult {
  decision: Decision;
  /** Statements (by Sid or index) that decided the outcome. */
  matched: string[];
  /** Things the evaluator could not evaluate, and how it treated them. */
  notes: string[];
}

class Unevaluable extends Error {}

/** Evaluates one or more policies together (identity policies of a role, or one trust policy). */
export function evaluatePolicies(policies: { name: string; document: PolicyDocument }[], req: RequestContext): EvaluationResult {
  const notes: string[] = [];
  const allows: string[] = [];
  const denies: string[] = [];
  for (const { name, document } of policies) {
    const statements = document?.Statement === undefined ? [] : Array.isArray(document.Statement) ? document.Statement : [document.Statement];
    statements.forEach((st, i) => {
      const label = `${name}#${st?.Sid ?? i}`;
      const effect = st?.Effect;
      if (effect !== 'Allow' && effect !== 'Deny') {
        notes.push(`${label}: Effect ${JSON.stringify(effect)} is not Allow or Deny; statement ignored`);
        return;
      }
      let matches: boolean;
      try {
        matches = statementMatches(st, req, document.Version);
      } catch (e) {
        if (!(e instanceof Unevaluable)) throw e;
        if (effect === 'Deny') {
          notes.push(`${label}: ${e.message}; treating this Deny as matching`);
          denies.push(label);
        } else {
          notes.push(`${label}: ${e.message}; treating this Allow as not matching`);
        }
        return;
      }
      if (!matches) return;
      (effect === 'Deny' ? denies : allows).push(label);
    });
  }
  if (denies.length > 0) return { decision: 'explicit-deny', matched: denies, notes };
  if (allows.length > 0) return { decision: 'allow', matched: allows, notes };
  return { decision: 'implicit-deny', matched: [], notes };
}

function list(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  if (Array.isArray(v)) return v.map((x) => String(x));
  return [String(v)];
}

function statementMatches(st: PolicyStatement, req: RequestContext, version: string | undefined): boolean {
  // Action / NotAction (case-insensitive)
  if (st.Action !== undefined && st.NotAction !== undefined) throw new Unevaluable('both Action and NotAction');
  if (st.Action !== undefined) {
    if (!list(st.Action).some((p) => wildcardMatch(p, req.action, true))) return false;
  } else if (st.NotAction !== undefined) {
    if (list(st.NotAction).some((p) => wildcardMatch(p, req.action, true))) return false;
  } else throw new Unevaluable('no Action or NotAction');

  // Resource / NotResource (case-sensitive); trust policies have none
  if (req.resource !== undefined) {
    if (st.Resource !== undefined) {
      if (!list(st.Resource).some((p) => resourceMatch(p, req.resource!, version))) return false;
    } else if (st.NotResource !== undefined) {
      if (list(st.NotResource).some((p) => resourceMatch(p, req.resource!, version))) return false;
    } else if (req.principal === undefined) {
      throw new Unevaluable('identity policy statement without Resource or NotResource');
    }
  }

  // Principal / NotPrincipal (trust policies)
  if (st.Principal !== undefined || st.NotPrincipal !== undefined) {
    if (!req.principal) throw new Unevaluable('Principal element in an identity-based policy');
    if (st.Principal !== undefined && !principalMatches(st.Principal, req.principal)) return false;
    if (st.NotPrincipal !== undefined && principalMatches(st.NotPrincipal, req.principal)) return false;
  } else if (req.principal && req.resource === undefined) {
    // a trust policy statement must name who it trusts
    throw new Unevaluable('trust policy statement without Principal');
  }

  if (st.Condition !== undefined) {
    if (typeof st.Condition !== 'object' || st.Condition === null) throw new Unevaluable('malformed Condition');
    for (const [op, block] of Object.entries(st.Condition)) {
      if (typeof block !== 'object' || block === null) throw new Unevaluable(`malformed Condition block ${op}`);
      for (const [key, values] of Object.entries(block)) {
        if (!conditionHolds(op, key, list(values), req.keys ?? {})) return false;
      }
    }
  }
  return true;
}

function principalMatches(element: unknown, who: { arn: string; account: string }): boolean {
  if (element === '*') return true;
  if (typeof element !== 'object' || element === null) throw new Unevaluable(`malformed Principal ${JSON.stringify(element)}`);
  for (const [type, values] of Object.entries(element as Record<string, unknown>)) {
    if (type !== 'AWS') continue; // Service, Federated, CanonicalUser principals never match an IAM role
    for (const v of list(values)) {
      if (v === '*') return true;
      if (v === who.account || v === `arn:aws:iam::${who.account}:root`) return true;
      if (v === who.arn) return true;
      // a role principal also matches that role's sessions
      const session = /^arn:aws:sts::(\d+):assumed-role\/([^/]+)\//.exec(who.arn);
      if (session && v.startsWith(`arn:aws:iam::${session[1]}:role/`) && v.endsWith(`/${session[2]}`)) return true;
      if (v.includes('*') || v.includes('?')) throw new Unevaluable(`wildcard in Principal ${v}`);
    }
  }
  return false;
}

const SUPPORTED_BASE_OPERATORS = new Set([
  'StringEquals',
  'StringNotEquals',
  'StringEqualsIgnoreCase',
  'StringNotEqualsIgnoreCase',
  'StringLike',
  'StringNotLike',
  'ArnEquals',
  'ArnLike',
  'ArnNotEquals',
  'ArnNotLike',
  'Bool',
  'Null',
]);

function conditionHolds(opName: string, key: string, values: string[], keys: Record<string, string | undefined>): boolean {
  let op = opName;
  let setMode: 'any' | 'all' | null = null;
  if (op.startsWith('ForAnyValue:')) {
    setMode = 'any';
    op = op.slice('ForAnyValue:'.length);
  } else if (op.startsWith('ForAllValues:')) {
    setMode = 'all';
    op = op.slice('ForAllValues:'.length);
  }
  let ifExists = false;
  if (op.endsWith('IfExists') && op !== 'Null') {
    ifExists = true;
    op = op.slice(0, -'IfExists'.length);
  }
  if (!SUPPORTED_BASE_OPERATORS.has(op)) throw new Unevaluable(`condition operator ${opName} is not supported`);
  if (values.some((v) => v.includes('${'))) throw new Unevaluable(`policy variables in condition ${opName} ${key}`);

  const actual = lookupKey(keys, key);
  if (op === 'Null') {
    const wantNull = values.some((v) => v.toLowerCase() === 'true');
    const wantNotNull = values.some((v) => v.toLowerCase() === 'false');
    return (wantNull && actual === undefined) || (wantNotNull && actual !== undefined);
  }
  const negated = op.includes('Not');
  if (actual === undefined) {
    if (ifExists) return true;
    if (setMode === 'all') return true; // vacuously true over an empty set
    return negated;
  }
  const anyMatch = values.some((v) => matchValue(op, v, actual));
  return negated ? !anyMatch : anyMatch;
}

function matchValue(op: string, pattern: string, actual: string): boolean {
  switch (op) {
    case 'StringEquals':
    case 'StringNotEquals':
    case 'ArnEquals':
    case 'ArnNotEquals':
      return op.startsWith('Arn') ? wildcardMatch(pattern, actual, false) : pattern === actual;
    case 'StringEqualsIgnoreCase':
    case 'StringNotEqualsIgnoreCase':
      return pattern.toLowerCase() === actual.toLowerCase();
    case 'StringLike':
    case 'StringNotLike':
    case 'ArnLike':
    case 'ArnNotLike':
      return wildcardMatch(pattern, actual, false);
    case 'Bool':
      return pattern.toLowerCase() === actual.toLowerCase();
    default:
      throw new Unevaluable(`condition operator ${op} is not supported`);
  }
}

function lookupKey(keys: Record<string, string | undefined>, key: string): string | undefined {
  const lower = key.toLowerCase();
  for (const [k, v] of Object.entries(keys)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

function resourceMatch(pattern: string, resource: string, version: string | undefined): boolean {
  if (pattern.includes('${') && version === '2012-10-17') throw new Unevaluable(`policy variables in Resource ${pattern}`);
  return wildcardMatch(pattern, resource, false);
}

/** `*` matches any run of characters, `?` exactly one. */
export function wildcardMatch(pattern: string, value: string, ignoreCase: boolean): boolean {
  const p = ignoreCase ? pattern.toLowerCase() : pattern;
  const v = ignoreCase ? value.toLowerCase() : value;
  // iterative glob matching with backtracking on the last '*'
  let pi = 0;
  let vi = 0;
  let star = -1;
  let mark = 0;
  while (vi < v.length) {
    if (pi < p.length && (p[pi] === '?' || p[pi] === v[vi])) {
      pi++;
      vi++;
    } else if (pi < p.length && p[pi] === '*') {
      star = pi++;
      mark = vi;
    } else if (star >= 0) {
      pi = star + 1;
      vi = ++mark;
    } else return false;
  }
  while (pi < p.length && p[pi] === '*') pi++;
  return pi === p.length;
}

/** Parses a policy document as IAM returns it (URL-encoded JSON from GetRole, plain JSON elsewhere). */
export function parsePolicyDocument(text: string): PolicyDocument {
  try {
    return JSON.parse(text) as PolicyDocument;
  } catch {
    return JSON.parse(decodeURIComponent(text)) as PolicyDocument;
  }
}
