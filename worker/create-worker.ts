/** Builds the worker: one task queue, every workflow and activity of the project, clients injected. */
import { NativeConnection, Worker, type InjectedSinks } from '@temporalio/worker';
import type { ExportOutcomeSinks } from '../workflows/export-outcome-interceptor';
import type { WorkerMetrics } from './metrics';
import { prebuiltBundle, WORKFLOW_INTERCEPTOR_MODULES, WORKFLOWS_PATH } from './workflow-bundle';
import { DEFAULT_CAPACITY, type WorkerSettings } from './worker-settings';
import { createActivities } from '../activities';
import { createAwsClients } from '../platform/aws-clients';
import { StorageClients } from '../platform/storage-profiles';
import type { Config } from '../platform/config';
import { createMaterializeConnector } from '../platform/materialize';
import { dataConverterFromEnv } from '../platform/payload-codec';
import { explainConnectFailure, temporalConnectionOptions } from '../platform/temporal-connection';
import { InvalidInputError } from '../common/failures';
import { log } from '../platform/log';
import { catalogFailuresInterceptor } from './catalog-failures';
import { scrubSecretsInterceptor } from './scrub-secrets';
import { describeProblems, isOperatorApiRefused, manualSteps, searchAttributeProblems, type OperatorConnection } from '../platform/temporal-search-attributes';

export async function createWorker(
  config: Config,
  opts: { settings?: WorkerSettings; metrics?: WorkerMetrics } = {},
) {
  const connection = await NativeConnection.connect(temporalConnectionOptions(config.temporal)).catch(async (e) => {
    throw await explainConnectFailure(e, config.temporal);
  });
  try {
    await assertSearchAttributesReady(connection, config.temporal.namespace);
  } catch (e) {
    await connection.close();
    throw e;
  }
  const aws = createAwsClients(config.aws);
  // Resolved once here so a missing region stops the worker at start, not the first export.
  const awsRegion = await aws.s3.config.region().catch(async (e) => {
    await connection.close();
    throw e;
  });
  const activities = createActivities({
    aws,
    materialize: createMaterializeConnector(config),
    storage: new StorageClients(config.storageProfiles),
  });
  const dataConverter = dataConverterFromEnv();
  const bundle = prebuiltBundle(dataConverter?.failureConverterPath);
  const deployment = opts.settings?.deployment;
  const capacity = opts.settings?.capacity ?? DEFAULT_CAPACITY;
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    // The bundle built at build time when it matches these sources, else webpack in memory (worker/workflow-bundle.ts).
    ...('codePath' in bundle ? { workflowBundle: { codePath: bundle.codePath } } : { workflowsPath: WORKFLOWS_PATH }),
    sinks: {
      exportOutcome: { ended: { fn: (_info, outcome) => opts.metrics?.exportEnded(outcome), callDuringReplay: false } },
    } satisfies InjectedSinks<ExportOutcomeSinks>,
    ...(deployment
      ? {
          workerDeploymentOptions: {
            version: { deploymentName: deployment.deploymentName, buildId: deployment.buildId },
            useWorkerVersioning: true,
            defaultVersioningBehavior: deployment.defaultVersioningBehavior,
          },
        }
      : {}),
    activities,
    // Encrypts payloads at rest when MZ_S3_EXPORT_PAYLOAD_KEY is set (platform/payload-codec.ts).
    dataConverter,
    interceptors: {
      // Catalog failures leave as the catalog says (retry, category); no secret of this process leaves it in an
      // activity result or failure (they land in the history). The first is the outermost: it sees scrubbed errors.
      activity: [catalogFailuresInterceptor, scrubSecretsInterceptor],
      // A prebuilt bundle has the workflow interceptors compiled in; in memory they are bundled with the workflows.
      ...('codePath' in bundle ? {} : { workflowModules: WORKFLOW_INTERCEPTOR_MODULES }),
    },
    // Fixed slots rather than the SDK's resource-based tuner: that one targets the whole machine's memory and CPU,
    // which says nothing about this process on a shared host; fixed numbers give a predictable peak (operations.md).
    maxCachedWorkflows: capacity.maxCachedWorkflows,
    maxConcurrentWorkflowTaskExecutions: capacity.maxConcurrentWorkflowTasks,
    maxConcurrentActivityTaskExecutions: capacity.maxConcurrentActivities,
    // Long COPY activities heartbeat; give them time to see the cancellation and send pg's cancel request.
    shutdownGraceTime: '10 seconds',
  });
  return { worker, connection, awsRegion, bundle: 'codePath' in bundle ? `prebuilt ${bundle.codePath} (built ${bundle.builtAt})` : `built in memory: ${bundle.reason}` };
}

/**
 * Refuses to poll a namespace that lacks the search attributes the workflows upsert: their workflow tasks would
 * fail on every attempt and the runs would stay RUNNING. Where the operator API may not even list them, the
 * worker says so and goes on (`mz-s3-export setup temporal --check` from an operator's credentials tells).
 */
async function assertSearchAttributesReady(connection: OperatorConnection, namespace: string): Promise<void> {
  let problems;
  try {
    problems = await searchAttributeProblems(connection, namespace);
  } catch (e) {
    if (!isOperatorApiRefused(e)) throw e;
    log('warn', 'cannot list the namespace search attributes; assuming they are registered', { namespace, error: (e as Error).message });
    return;
  }
  if (problems.length) {
    throw new InvalidInputError(
      `namespace "${namespace}" is not set up for mz-s3-export: ${describeProblems(problems)}. ` +
        `Run 'mz-s3-export setup temporal' with the same TEMPORAL_* settings, or:\n${manualSteps(namespace)}`,
    );
  }
}
