/** What every activity factory is given: its clients, injected so tests and the worker compose them freely. */
import type { AwsClients } from '../platform/aws-clients';
import type { MaterializeConnector } from '../platform/materialize';

export interface ActivityDeps {
  aws: AwsClients;
  materialize: MaterializeConnector;
}
