/**
 * Reads the topic list out of a `consumer` protocol subscription (ConsumerProtocolSubscription,
 * the bytes a Kafka consumer puts in JoinGroup's protocol metadata): int16 version, then an
 * array of topic names. Every version so far starts that way (non-flexible encoding); what
 * follows (user data, owned partitions, rack) is not needed by the coordinator. Used to
 * know which offsets a stable group still needs (offset expiry, OffsetDelete).
 */
export function subscribedTopics(metadata: Uint8Array): string[] | null {
  try {
    const view = new DataView(metadata.buffer, metadata.byteOffset, metadata.byteLength);
    let at = 2;
    const count = view.getInt32(at);
    at += 4;
    if (count < 0 || count > metadata.length) return null;
    const decoder = new TextDecoder('utf-8', { fatal: true });
    const topics: string[] = [];
    for (let i = 0; i < count; i++) {
      const length = view.getInt16(at);
      at += 2;
      if (length < 0 || at + length > metadata.length) return null;
      topics.push(decoder.decode(metadata.subarray(at, at + length)));
      at += length;
    }
    return topics;
  } catch {
    return null;
  }
}
