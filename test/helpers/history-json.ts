/**
 * History <-> the JSON Temporal's tools write (`temporal workflow show --output json`, the Web UI's download).
 *
 * Why not @temporalio/common's historyToJSON/historyFromJSON: in this dependency tree npm nests a separate copy of
 * protobufjs 8 under @temporalio/common and under @temporalio/proto (the top level holds protobufjs 7 for
 * @grpc/proto-loader), and those functions pair common's protojson with the History type built by proto's copy,
 * so its `instanceof Type` check throws "type must be a Type". Here protojson is loaded from the copy that
 * @temporalio/proto itself resolves, the same code path otherwise.
 */
import * as path from 'node:path';
import * as proto from '@temporalio/proto';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root';

type History = proto.temporal.api.history.v1.IHistory;
type ProtoType = { fromObject(o: unknown): unknown };

const protojson = require(
  require.resolve('protobufjs/ext/protojson', { paths: [path.dirname(require.resolve('@temporalio/proto/package.json'))] }),
) as { toJson(type: ProtoType, message: unknown): unknown; fromJson(type: ProtoType, json: unknown, opts?: object): unknown };
const historyType = (patchProtobufRoot(proto as never) as unknown as { lookupType(name: string): ProtoType }).lookupType('temporal.api.history.v1.History');

export function historyToJson(history: History): string {
  return JSON.stringify(protojson.toJson(historyType, proto.temporal.api.history.v1.History.fromObject(history)), null, 2);
}

export function historyFromJson(text: string): History {
  const loaded = protojson.fromJson(historyType, JSON.parse(text), { ignoreUnknownFields: true });
  if (!loaded) throw new TypeError('not a workflow history');
  return loaded as History;
}
