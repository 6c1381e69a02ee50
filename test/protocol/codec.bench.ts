// Benchmark (reports numbers, asserts nothing): node test/protocol/codec.bench.ts
import {
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  encodeResponseChunks,
} from '../../src/protocol/frames.ts';

const MiB = 1024 * 1024;

function measure(name: string, bytesPerOp: number, op: () => unknown): void {
  for (let i = 0; i < 200; i++) op();
  let ops = 0;
  const start = process.hrtime.bigint();
  let elapsedNs = 0n;
  while (elapsedNs < 1_000_000_000n) {
    for (let i = 0; i < 50; i++) op();
    ops += 50;
    elapsedNs = process.hrtime.bigint() - start;
  }
  const perOpUs = Number(elapsedNs) / ops / 1000;
  const gibPerSecond = (bytesPerOp * ops) / (Number(elapsedNs) / 1e9) / 1024 ** 3;
  console.log(
    `${name.padEnd(58)} ${perOpUs.toFixed(2).padStart(9)} µs/op ${Math.round(ops / (Number(elapsedNs) / 1e9))
      .toString()
      .padStart(9)} op/s ${bytesPerOp ? `${gibPerSecond.toFixed(2)} GiB/s` : ''}`,
  );
}

const records = new Uint8Array(MiB).fill(7);
for (const version of [3, 9]) {
  const header = { requestApiKey: 0, requestApiVersion: version, correlationId: 1, clientId: 'bench' };
  const body = {
    acks: -1,
    timeoutMs: 30000,
    topicData: [{ name: 'events', partitionData: [{ index: 0, records }] }],
  };
  const frame = encodeRequest(header, body).slice(4);
  measure(`Produce v${version} request, 1 MiB records: decode`, frame.length, () => decodeRequest(frame));
  measure(`Produce v${version} request, 1 MiB records: encode`, frame.length, () =>
    encodeRequest(header, body),
  );
}

{
  const header = { requestApiKey: 0, requestApiVersion: 9, correlationId: 1, clientId: 'bench' };
  const partitionData = Array.from({ length: 6 }, (_, index) => ({ index, records: new Uint8Array(1024) }));
  const body = { acks: 1, timeoutMs: 30000, topicData: [{ name: 'events', partitionData }] };
  const frame = encodeRequest(header, body).slice(4);
  measure('Produce v9 request, 6 partitions x 1 KiB: decode', frame.length, () => decodeRequest(frame));
  const response = {
    responses: [
      {
        name: 'events',
        partitionResponses: partitionData.map(({ index }) => ({ index, baseOffset: 123456n })),
      },
    ],
  };
  measure('Produce v9 response, 6 partitions: encode', 0, () => encodeResponse(0, 9, 1, response));
}

for (const version of [11, 16]) {
  const body = {
    responses: [
      {
        topic: 'events',
        topicId: 'AAAAAAAAAAAAAAAAAAAAAQ',
        partitions: [
          { partitionIndex: 0, highWatermark: 10n, lastStableOffset: 10n, logStartOffset: 0n, records },
        ],
      },
    ],
  };
  const frame = encodeResponse(1, version, 1, body);
  measure(`Fetch v${version} response, 1 MiB records: encode`, frame.length, () =>
    encodeResponse(1, version, 1, body),
  );
  measure(`Fetch v${version} response, 1 MiB records: decode`, frame.length, () =>
    decodeResponse(1, version, frame.subarray(4)),
  );
}

{
  const body = {
    responses: [
      {
        topic: 'events',
        partitions: [
          { partitionIndex: 0, highWatermark: 10n, lastStableOffset: 10n, logStartOffset: 0n, records },
        ],
      },
    ],
  };
  measure('Fetch v11 response, 1 MiB records: encodeResponseChunks', MiB, () =>
    encodeResponseChunks(1, 11, 1, body),
  );
  measure('(floor) allocate 1 MiB and copy 1 MiB into it', MiB, () => Buffer.allocUnsafe(MiB).set(records));
}
