/**
 * The custom search attributes this project sets (common/search-attributes.ts), checked and registered through
 * Temporal's OperatorService. A workflow that upserts an attribute the namespace lacks fails its workflow task
 * over and over and stays RUNNING, so the worker checks before it polls (worker/main.ts) and
 * `mz-s3-export setup temporal` registers them where the operator API allows it.
 */
import { temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTES, type SearchAttributeName } from '../common/search-attributes';

const IndexedValueType = temporal.api.enums.v1.IndexedValueType;
type IndexedValueType = temporal.api.enums.v1.IndexedValueType;

const INDEXED_TYPE: Record<(typeof SEARCH_ATTRIBUTES)[SearchAttributeName], IndexedValueType> = {
  Keyword: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  Datetime: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
};

/** The part of a Connection or NativeConnection this module needs. */
export interface OperatorConnection {
  operatorService: {
    listSearchAttributes(req: temporal.api.operatorservice.v1.IListSearchAttributesRequest): Promise<temporal.api.operatorservice.v1.IListSearchAttributesResponse>;
    addSearchAttributes(req: temporal.api.operatorservice.v1.IAddSearchAttributesRequest): Promise<unknown>;
  };
}

export interface SearchAttributeProblem {
  name: SearchAttributeName;
  expected: string;
  /** The type the namespace has under this name, when it has one of another type. */
  found?: string;
}

function typeName(t: IndexedValueType | null | undefined): string {
  const raw = IndexedValueType[t ?? 0] ?? String(t);
  return raw.replace('INDEXED_VALUE_TYPE_', '').toLowerCase().replace(/^./, (c) => c.toUpperCase());
}

/** What the namespace lacks (or has with another type) of the attributes the workflows set; empty when ready. */
export async function searchAttributeProblems(conn: OperatorConnection, namespace: string): Promise<SearchAttributeProblem[]> {
  const res = await conn.operatorService.listSearchAttributes({ namespace });
  const custom = res.customAttributes ?? {};
  const problems: SearchAttributeProblem[] = [];
  for (const [name, expected] of Object.entries(SEARCH_ATTRIBUTES) as [SearchAttributeName, string][]) {
    const have = custom[name];
    if (have === undefined || have === null) problems.push({ name, expected });
    else if (have !== INDEXED_TYPE[expected as keyof typeof INDEXED_TYPE]) problems.push({ name, expected, found: typeName(have) });
  }
  return problems;
}

/** Registers the missing attributes; an attribute present with another type is left for a person to resolve. */
export async function registerSearchAttributes(
  conn: OperatorConnection,
  namespace: string,
): Promise<{ added: SearchAttributeName[]; conflicting: SearchAttributeProblem[] }> {
  const problems = await searchAttributeProblems(conn, namespace);
  const missing = problems.filter((p) => !p.found);
  if (missing.length) {
    await conn.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((p) => [p.name, INDEXED_TYPE[p.expected as keyof typeof INDEXED_TYPE]])),
    });
  }
  return { added: missing.map((p) => p.name), conflicting: problems.filter((p) => p.found) };
}

/** True for the refusals Temporal Cloud (and a server that restricts the operator API) answers AddSearchAttributes with. */
export function isOperatorApiRefused(e: unknown): boolean {
  // gRPC status codes PERMISSION_DENIED, UNIMPLEMENTED, UNAUTHENTICATED.
  return [7, 12, 16].includes((e as { code?: number }).code ?? -1);
}

export function describeProblems(problems: SearchAttributeProblem[]): string {
  return problems
    .map((p) => (p.found ? `${p.name} is ${p.found}, must be ${p.expected}` : `${p.name} (${p.expected}) is missing`))
    .join('; ');
}

/** The ways to register the attributes by hand: the Temporal CLI for a self-hosted cluster, tcld or the UI for Cloud. */
export function manualSteps(namespace: string): string {
  const entries = Object.entries(SEARCH_ATTRIBUTES);
  return [
    'Self-hosted Temporal (the Temporal CLI, with the same TEMPORAL_* settings):',
    ...entries.map(([n, t]) => `  temporal operator search-attribute create --namespace ${namespace} --name ${n} --type ${t}`),
    'Temporal Cloud (the operator API is not open to namespace clients there): with tcld,',
    `  tcld namespace search-attributes add --namespace ${namespace} ${entries.map(([n, t]) => `--search-attribute "${n}=${t}"`).join(' ')}`,
    `or in the Cloud UI: Namespaces > ${namespace} > Edit > Custom Search Attributes, add ${entries.map(([n, t]) => `${n} (${t})`).join(', ')}.`,
  ].join('\n');
}
