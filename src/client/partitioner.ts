/**
 * Key -> partition, the way Kafka's default partitioner does it: murmur2 (seed 0x9747b28c) of the
 * key bytes, sign bit cleared, modulo the partition count. Using Kafka's function means a key
 * lands on the same partition whether it was produced by GregorMQ's client or a Kafka client.
 */
export function murmur2(data: Uint8Array): number {
  const m = 0x5bd1e995;
  const len = data.length;
  let h = (0x9747b28c ^ len) | 0;
  const tail = len & ~3;
  for (let i = 0; i < tail; i += 4) {
    let k =
      (data[i]! & 0xff) |
      ((data[i + 1]! & 0xff) << 8) |
      ((data[i + 2]! & 0xff) << 16) |
      ((data[i + 3]! & 0xff) << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  const rest = len & 3;
  // The tail bytes are mixed in from the highest down, as murmur2's fall-through switch does.
  if (rest === 3) h ^= (data[tail + 2]! & 0xff) << 16;
  if (rest >= 2) h ^= (data[tail + 1]! & 0xff) << 8;
  if (rest >= 1) {
    h ^= data[tail]! & 0xff;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition for `key` among `partitions`. */
export function partitionForKey(key: Uint8Array | string, partitions: number): number {
  const bytes = typeof key === 'string' ? Buffer.from(key) : key;
  return (murmur2(bytes) & 0x7fffffff) % partitions;
}
