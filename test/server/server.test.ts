/** The TCP server alone, with a stub dispatcher: framing, ordering, bounds, shutdown. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type DispatchResult,
  KafkaServer,
  type RequestDispatcher,
  type ResponseFrame,
} from '../../src/server/server.ts';
import { closedWithin, connect, FrameReader } from '../engine/broker-process.ts';

function frame(payload: Buffer): Buffer {
  const size = Buffer.alloc(4);
  size.writeInt32BE(payload.length);
  return Buffer.concat([size, payload]);
}

/** A frame as parts written in order: size prefix, an empty part, then the payload in pieces of `piece` bytes. */
function frameParts(payload: Buffer, piece: number): Uint8Array[] {
  const whole = frame(payload);
  const parts: Uint8Array[] = [whole.subarray(0, 4), new Uint8Array(0)];
  for (let at = 4; at < whole.length; at += piece) parts.push(whole.subarray(at, at + piece));
  return parts;
}

/**
 * Echoes each request; a request whose first byte is the delay in ms is answered after it;
 * an odd second byte asks for the answer as several buffers instead of one.
 */
class EchoDispatcher implements RequestDispatcher {
  calls = 0;
  /** Answers of requests whose first byte is 0xbb, held until the test releases them. */
  readonly held: (() => void)[] = [];
  dispatch(request: Buffer): DispatchResult | Promise<DispatchResult> {
    this.calls++;
    const copy = Buffer.from(request);
    if (copy[0] === 0xbb)
      return new Promise((resolve) => this.held.push(() => resolve({ response: frame(copy) })));
    if (copy[0] === 0xee) return { response: null, close: true };
    if (copy[0] === 0xaa) return { response: null };
    const delayMs = copy[0] ?? 0;
    const result = { response: (copy[1] ?? 0) % 2 === 1 ? frameParts(copy, 3) : frame(copy) };
    if (delayMs === 0) return result;
    return new Promise((resolve) => setTimeout(() => resolve(result), delayMs));
  }
}

describe('KafkaServer', () => {
  const dispatcher = new EchoDispatcher();
  const server = new KafkaServer({
    host: '127.0.0.1',
    port: 0,
    dispatcher,
    limits: { socketRequestMaxBytes: 1024, queuedMaxRequests: 4 },
  });
  let port = 0;
  before(async () => {
    port = await server.listen();
  });
  after(async () => {
    await server.close();
  });

  it('answers pipelined requests in request order even when later ones finish first', async () => {
    const socket = await connect(port);
    const reader = new FrameReader(socket);
    const delays = [50, 0, 30, 0, 10, 0];
    socket.write(Buffer.concat(delays.map((d, i) => frame(Buffer.from([d, i])))));
    const frames = await reader.next(delays.length);
    assert.deepEqual(
      frames.map((f) => f[1]),
      delays.map((_, i) => i),
    );
    socket.destroy();
  });

  it('writes an answer given as several buffers as the same bytes as one, in request order', async () => {
    const socket = await connect(port);
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    // Odd second bytes are answered in parts (some of them late), even ones as one buffer.
    const requests = [
      Buffer.from([20, 1, 10, 11, 12, 13, 14, 15, 16]),
      Buffer.from([0, 2, 20, 21]),
      Buffer.from([0, 3, 30, 31, 32, 33, 34, 35, 36, 37]),
      Buffer.from([5, 5, 50]),
      Buffer.from([0, 6]),
    ];
    socket.write(Buffer.concat(requests.map(frame)));
    const expected = Buffer.concat(requests.map(frame));
    const deadline = Date.now() + 5000;
    while (Buffer.concat(received).length < expected.length && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.deepEqual(Buffer.concat(received), expected);
    socket.destroy();
  });

  it('reassembles frames split across TCP segments, down to single bytes', async () => {
    const socket = await connect(port);
    const reader = new FrameReader(socket);
    const bytes = Buffer.concat([frame(Buffer.from([0, 1, 2, 3])), frame(Buffer.from([0, 9]))]);
    for (const byte of bytes) {
      socket.write(Buffer.from([byte]));
      await new Promise((resolve) => setImmediate(resolve));
    }
    const frames = await reader.next(2);
    assert.deepEqual([...frames[0]!], [0, 1, 2, 3]);
    assert.deepEqual([...frames[1]!], [0, 9]);
    socket.destroy();
  });

  it('sends nothing for a request without a response and keeps the order', async () => {
    const socket = await connect(port);
    const reader = new FrameReader(socket);
    socket.write(
      Buffer.concat([frame(Buffer.from([0, 1])), frame(Buffer.from([0xaa])), frame(Buffer.from([0, 3]))]),
    );
    const frames = await reader.next(2);
    assert.deepEqual(
      frames.map((f) => f[1]),
      [1, 3],
    );
    socket.destroy();
  });

  it('closes a connection whose frame is over the limit or negative, and serves others', async () => {
    for (const size of [1025, -1]) {
      const bad = await connect(port);
      bad.on('error', () => {});
      const header = Buffer.alloc(4);
      header.writeInt32BE(size);
      bad.write(header);
      assert.equal(await closedWithin(bad, 2000), true);
      const good = await connect(port);
      const reader = new FrameReader(good);
      good.write(frame(Buffer.from([0, 42])));
      assert.equal((await reader.next(1))[0]![1], 42);
      good.destroy();
    }
  });

  it('closes the connection when the dispatcher says so, after earlier answers', async () => {
    const socket = await connect(port);
    const reader = new FrameReader(socket);
    socket.write(Buffer.concat([frame(Buffer.from([0, 5])), frame(Buffer.from([0xee]))]));
    assert.equal((await reader.next(1))[0]![1], 5);
    assert.equal(await closedWithin(socket, 2000), true);
  });

  it("dispatches a connection's next request only once the previous one is answered", async () => {
    const socket = await connect(port);
    const reader = new FrameReader(socket);
    const before = dispatcher.calls;
    // Ten requests in one write, each held until released: the server takes the next one in
    // only after the answer to the previous one (before, it took in queued.max.requests at once).
    socket.write(Buffer.concat(Array.from({ length: 10 }, (_, i) => frame(Buffer.from([0xbb, i])))));
    for (let released = 0; released < 10; released++) {
      while (dispatcher.held.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      assert.equal(dispatcher.calls - before, released + 1, `dispatched with ${released} answered`);
      assert.equal(dispatcher.held.length, 1);
      dispatcher.held.shift()!();
    }
    const frames = await reader.next(10, 10_000);
    assert.deepEqual(
      frames.map((f) => f[1]),
      Array.from({ length: 10 }, (_, i) => i),
    );
    socket.destroy();
  });
});

describe('KafkaServer shutdown', () => {
  it('answers in-flight requests before closing', async () => {
    const server = new KafkaServer({ host: '127.0.0.1', port: 0, dispatcher: new EchoDispatcher() });
    const port = await server.listen();
    const socket = await connect(port);
    const reader = new FrameReader(socket);
    socket.write(frame(Buffer.from([100, 7])));
    await new Promise((resolve) => setTimeout(resolve, 20));
    const closing = server.close();
    const [answer] = await reader.next(1);
    assert.equal(answer![1], 7);
    await closing;
    assert.equal(await closedWithin(socket, 2000), true);
  });
});

/**
 * A client that stops reading while it pipelines 200 requests, each answered with `response`
 * (`answerBytes` on the wire): the server must stop taking requests in near its 1 MiB send
 * bound, and answer every one of them once the client reads again.
 */
async function checkSendBound(response: ResponseFrame, answerBytes: number): Promise<void> {
  let calls = 0;
  const server = new KafkaServer({
    host: '127.0.0.1',
    port: 0,
    dispatcher: {
      dispatch() {
        calls++;
        return { response };
      },
    },
    limits: { socketSendBufferMaxBytes: 1024 * 1024 },
  });
  const port = await server.listen();
  const socket = await connect(port);
  try {
    socket.pause();
    const requests = 200;
    socket.write(Buffer.concat(Array.from({ length: requests }, (_, i) => frame(Buffer.from([0, i % 256])))));
    await new Promise((resolve) => setTimeout(resolve, 500));
    // 200 answers are 50 MiB; kernel buffers hold a few MiB, the server's bound 1 MiB.
    assert.ok(calls < requests, `the server kept reading: ${calls} requests taken in`);
    const stalledAt = calls;
    let received = 0;
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
    });
    socket.resume();
    const deadline = Date.now() + 20_000;
    while (received < requests * answerBytes && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(calls, requests, `resumed after ${stalledAt}`);
    assert.equal(received, requests * answerBytes);
  } finally {
    socket.destroy();
    await server.close();
  }
}

describe('KafkaServer with a slow reader', () => {
  it('stops reading requests while unsent responses pile up, and resumes when the client reads', async () => {
    const big = Buffer.alloc(256 * 1024, 7);
    await checkSendBound(frame(big), big.length + 4);
  });

  it('bounds unsent answers given as several buffers (a Fetch answer referencing log reads) the same way', async () => {
    // Each answer: a 4-byte prefix and four 64 KiB parts, referenced rather than copied.
    const piece = Buffer.alloc(64 * 1024, 9);
    const prefix = Buffer.alloc(4);
    prefix.writeInt32BE(piece.length * 4);
    await checkSendBound([prefix, piece, piece, piece, piece], 4 + piece.length * 4);
  });
});
