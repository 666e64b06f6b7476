import { compressSync as snappyCompress, uncompressSync as snappyUncompress } from '@napi-rs/snappy';
import { compressSync as lz4Compress, uncompressSync as lz4Uncompress } from 'lz4-napi';

/** Compresses the records section of a batch as one block (native codecs, no JS fallbacks). */
export function compressRecords(codec: 'snappy' | 'lz4', body: Buffer): Buffer {
  return codec === 'snappy' ? snappyCompress(body) : lz4Compress(body);
}

export function decompressRecords(codec: 'snappy' | 'lz4', body: Buffer): Buffer {
  return codec === 'snappy' ? (snappyUncompress(body) as Buffer) : lz4Uncompress(body);
}
