/**
 * The generic RPC codec's cost (src/platform/rpc/message-codec.ts): a page of 100 workflow views
 * taken apart from their messages, as the gateway's client does on every list call (the service
 * side pays about the same to build them), in one process, no I/O:
 *
 *   node bench/rpc-codec.ts [rounds=200]
 *
 * Prints the median time per page. Asserts nothing.
 */
import { create } from '@bufbuild/protobuf';
import { WorkflowSchema } from '../src/gen/chronoverse/workflows/v1/workflows_pb.js';
import { fromMessage } from '../src/platform/rpc/message-codec.ts';

const rounds = Number(process.argv[2] ?? 200);
// Every JSON document field holds a document (a view always has them); the rest stay unset.
const init: Record<string, unknown> = {};
for (const field of WorkflowSchema.fields) if (field.name.endsWith('_json')) init[field.localName] = '{}';
const page = Array.from({ length: 100 }, () => create(WorkflowSchema, init as never));

const times: number[] = [];
for (let r = 0; r < rounds; r++) {
  const t0 = performance.now();
  for (const m of page) fromMessage(WorkflowSchema, m as never);
  times.push(performance.now() - t0);
}
times.sort((a, b) => a - b);
console.log(
  `rpc codec: 100 workflow views from their messages (${WorkflowSchema.fields.length} fields each): ` +
    `median ${times[Math.floor(times.length / 2)]!.toFixed(2)} ms per page over ${rounds} rounds`,
);
