/**
 * Frame-level mutations of a valid request. Each returns the bytes to send and how the frame
 * boundary survives it, which decides what the broker owes us:
 * - `kept`: a well-framed (size prefix matches) but possibly malformed request: the broker answers it
 *   or closes the connection, and then still answers a probe sent behind it if it kept it open;
 * - `refused`: the size prefix is negative or over `socket.request.max.bytes`: the broker closes;
 * - `open`: the size prefix no longer matches what follows (the broker waits for bytes that never
 *   come): we half-close, and the broker must close its side too.
 */
import type { Prng } from './prng.ts';

export type Framing = 'kept' | 'refused' | 'open';

export interface Mutation {
  readonly kind: string;
  readonly bytes: Uint8Array;
  readonly framing: Framing;
}

/** Kafka's default `socket.request.max.bytes` (100 MiB), which kstack also uses. */
export const SOCKET_REQUEST_MAX_BYTES = 104_857_600;
const HOSTILE_INT32 = [-1, -2, -(2 ** 31), 2 ** 31 - 1, 0x10000000, 0x7fff, 65535, 1_000_000];
const HOSTILE_INT16 = [-1, -2, -32768, 32767, 0x7ff0];
const HEADER_BYTES = 8;

type Mutator = (
  prng: Prng,
  frame: Uint8Array,
  advertised: ReadonlyMap<number, { min: number; max: number }>,
) => Mutation;

function withSize(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setInt32(0, body.length);
  out.set(body, 4);
  return out;
}

function kept(kind: string, body: Uint8Array): Mutation {
  return { kind, bytes: withSize(body), framing: 'kept' };
}

function bodyOf(frame: Uint8Array): Uint8Array {
  return frame.slice(4);
}

const MUTATORS: Record<string, Mutator> = {
  'bit-flip': (prng, frame) => {
    const body = bodyOf(frame);
    const flips = prng.int(1, 8);
    for (let i = 0; i < flips; i++) {
      const position = prng.int(0, body.length - 1);
      body[position] = body[position]! ^ (1 << prng.int(0, 7));
    }
    return kept('bit-flip', body);
  },
  'byte-insert': (prng, frame) => {
    const body = bodyOf(frame);
    const position = prng.int(HEADER_BYTES, body.length);
    const inserted = prng.bytes(prng.int(1, 16));
    return kept(
      'byte-insert',
      Buffer.concat([body.subarray(0, position), inserted, body.subarray(position)]),
    );
  },
  'byte-delete': (prng, frame) => {
    const body = bodyOf(frame);
    const position = prng.int(HEADER_BYTES, Math.max(HEADER_BYTES, body.length - 1));
    const count = prng.int(1, 16);
    return kept('byte-delete', Buffer.concat([body.subarray(0, position), body.subarray(position + count)]));
  },
  truncate: (prng, frame) => kept('truncate', bodyOf(frame).subarray(0, prng.int(0, frame.length - 5))),
  'length-field': (prng, frame) => {
    // Lengths and counts are most of a request's structure: a hostile int16/int32 written at a random
    // position (or at the client id's length, always at offset 8) lands on one often.
    const body = bodyOf(frame);
    const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    const position = prng.chance(0.2)
      ? HEADER_BYTES
      : prng.int(HEADER_BYTES, Math.max(HEADER_BYTES, body.length - 4));
    if (prng.chance(0.5) && position + 2 <= body.length) view.setInt16(position, prng.pick(HOSTILE_INT16));
    else if (position + 4 <= body.length) view.setInt32(position, prng.pick(HOSTILE_INT32));
    return kept('length-field', body);
  },
  'varint-huge': (prng, frame) => {
    // An unsigned varint of ~2^35 (compact lengths, array counts, tag counts of flexible versions).
    const body = bodyOf(frame);
    const position = prng.int(HEADER_BYTES, body.length);
    const huge = prng.pick([
      [0xff, 0xff, 0xff, 0xff, 0x0f],
      [0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
      [0x80, 0x80, 0x80, 0x80, 0x08],
    ]);
    return kept(
      'varint-huge',
      Buffer.concat([body.subarray(0, position), Buffer.from(huge), body.subarray(position + 1)]),
    );
  },
  'wrong-version': (prng, frame, advertised) => {
    const body = bodyOf(frame);
    const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    const range = advertised.get(view.getInt16(0)) ?? { min: 0, max: 0 };
    const version = prng.pick([
      range.max + 1,
      range.max + prng.int(2, 100),
      range.min - 1,
      -1,
      32767,
      -32768,
    ]);
    view.setInt16(2, version);
    return kept('wrong-version', body);
  },
  'unknown-api-key': (prng, frame, advertised) => {
    const body = bodyOf(frame);
    let key = prng.pick([-1, 4, 5, 6, 7, 1000, 32767, -32768, prng.int(0, 100)]);
    while (advertised.has(key)) key = prng.int(70, 32767);
    new DataView(body.buffer, body.byteOffset, body.byteLength).setInt16(0, key);
    return kept('unknown-api-key', body);
  },
  'random-body': (prng) => kept('random-body', prng.bytes(prng.int(0, 256))),
  'size-prefix': (prng, frame) => {
    const bytes = frame.slice();
    const view = new DataView(bytes.buffer);
    const size = view.getInt32(0);
    view.setInt32(0, prng.chance(0.5) ? size + prng.int(1, 64) : Math.max(0, size - prng.int(1, 64)));
    return { kind: 'size-prefix', bytes, framing: 'open' };
  },
  'truncated-stream': (prng, frame) => ({
    kind: 'truncated-stream',
    bytes: frame.subarray(0, prng.int(1, frame.length - 1)),
    framing: 'open',
  }),
  oversize: (prng) => {
    const bytes = new Uint8Array(4 + prng.int(0, 64));
    new DataView(bytes.buffer).setInt32(0, prng.int(SOCKET_REQUEST_MAX_BYTES + 1, 2 ** 31 - 1));
    return { kind: 'oversize', bytes, framing: 'refused' };
  },
  'negative-size': (prng) => {
    const bytes = new Uint8Array(4 + prng.int(0, 64));
    new DataView(bytes.buffer).setInt32(0, prng.int(-(2 ** 31), -1));
    return { kind: 'negative-size', bytes, framing: 'refused' };
  },
  'random-stream': (prng) => {
    const bytes = prng.bytes(prng.int(1, 512));
    if (bytes.length < 4) return { kind: 'random-stream', bytes, framing: 'open' };
    const size = new DataView(bytes.buffer).getInt32(0);
    const framing: Framing =
      size < 0 || size > SOCKET_REQUEST_MAX_BYTES ? 'refused' : size === bytes.length - 4 ? 'kept' : 'open';
    return { kind: 'random-stream', bytes, framing };
  },
};

export const MUTATION_KINDS: readonly string[] = Object.keys(MUTATORS);

/** Applies one mutation, chosen by `prng`, to a valid request frame (size prefix included). */
export function mutate(
  prng: Prng,
  frame: Uint8Array,
  advertised: ReadonlyMap<number, { min: number; max: number }>,
): Mutation {
  const kind = prng.pick(MUTATION_KINDS);
  return MUTATORS[kind]!(prng, frame, advertised);
}
