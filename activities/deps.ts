/** What every activity factory is given: its clients, injected so tests and the worker compose them freely. */
import type { AwsClients } from '../lib/aws-clients';
import type { MaterializeConnector } from '../lib/materialize';

export interface ActivityDeps {
  aws: AwsClients;
  materialize: MaterializeConnector;
}
