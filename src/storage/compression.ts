// @napi-rs/snappy is CommonJS and Node's ESM loader only detects some of its exports by name.
import snappy from '@napi-rs/snappy';
import { compressSync as lz4Compress, uncompressSync as lz4Uncompress } from 'lz4-napi';

/** Compresses the records section of a batch as one block (native codecs, no JS fallbacks). */
export function compressRecords(codec: 'snappy' | 'lz4', body: Buffer): Buffer {
  return codec === 'snappy' ? snappy.compressSync(body) : lz4Compress(body);
}

/** Reverses compressRecords; throws if the block is damaged. */
export function decompressRecords(codec: 'snappy' | 'lz4', body: Buffer): Buffer {
  return codec === 'snappy' ? (snappy.uncompressSync(body) as Buffer) : lz4Uncompress(body);
}
