import fs from 'node:fs';

/**
 * The few file-system calls the file log makes, behind one small interface so tests can inject
 * faults (disk full on write, failing fsync) without touching the real disk's behaviour.
 *
 * Appends use synchronous writes on an `O_APPEND` descriptor: a write of a page-cache-sized
 * buffer costs a few microseconds, far less than a round trip through libuv's thread pool, and
 * it keeps append order identical to call order. Reads and fsyncs are asynchronous because they
 * can block for a long time and must not stall the event loop.
 */
export interface LogFs {
  /** Opens a file; `flags` as for fs.openSync ('a+' for the active segment, 'r' for the others). */
  openSync(path: string, flags: string): number;
  closeSync(fd: number): void;
  /** Writes at the end of an O_APPEND descriptor; may write fewer bytes than asked. */
  writeSync(fd: number, buf: Buffer, offset: number, length: number): number;
  /** Positional read; resolves the number of bytes read (0 at end of file). */
  read(fd: number, buf: Buffer, offset: number, length: number, position: number): Promise<number>;
  /** Positional read used by recovery at open time. */
  readSync(fd: number, buf: Buffer, offset: number, length: number, position: number): number;
  fdatasync(fd: number): Promise<void>;
  ftruncateSync(fd: number, length: number): void;
  fileSizeSync(fd: number): number;
  /** Makes directory entries (new or deleted segment files) durable. */
  fsyncDir(dir: string): Promise<void>;
  fsyncDirSync(dir: string): void;
  readdirSync(dir: string): string[];
  mkdirSync(dir: string): void;
  unlinkSync(path: string): void;
  /** Reads a whole small file (an index); resolves null if it does not exist. */
  readFileOrNullSync(path: string): Buffer | null;
  /**
   * Replaces a small file (an index): write a temp file, rename it over. No fsync: on ext4 that
   * would force a journal commit that waits for the whole segment's dirty data, and recovery
   * checks every index against its log and rebuilds a torn one anyway.
   */
  replaceFileSync(path: string, data: Buffer): void;
}

function readFileOrNull(path: string): Buffer | null {
  try {
    return fs.readFileSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** The real file system. */
export const nodeLogFs: LogFs = {
  openSync: (path, flags) => fs.openSync(path, flags),
  closeSync: (fd) => fs.closeSync(fd),
  writeSync: (fd, buf, offset, length) => fs.writeSync(fd, buf, offset, length),
  read: (fd, buf, offset, length, position) =>
    new Promise((resolve, reject) => {
      fs.read(fd, buf, offset, length, position, (err, n) => (err ? reject(err) : resolve(n)));
    }),
  readSync: (fd, buf, offset, length, position) => fs.readSync(fd, buf, offset, length, position),
  fdatasync: (fd) =>
    new Promise((resolve, reject) => {
      fs.fdatasync(fd, (err) => (err ? reject(err) : resolve()));
    }),
  ftruncateSync: (fd, length) => fs.ftruncateSync(fd, length),
  fileSizeSync: (fd) => fs.fstatSync(fd).size,
  fsyncDir: (dir) =>
    new Promise((resolve, reject) => {
      fs.open(dir, 'r', (err, fd) => {
        if (err) return reject(err);
        fs.fsync(fd, (syncErr) => {
          fs.close(fd, () => (syncErr ? reject(syncErr) : resolve()));
        });
      });
    }),
  fsyncDirSync: (dir) => {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  },
  readdirSync: (dir) => fs.readdirSync(dir),
  mkdirSync: (dir) => {
    fs.mkdirSync(dir, { recursive: true });
  },
  unlinkSync: (path) => {
    try {
      fs.unlinkSync(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  },
  readFileOrNullSync: readFileOrNull,
  replaceFileSync: (path, data) => {
    const tmp = `${path}.tmp`;
    const fd = fs.openSync(tmp, 'w');
    try {
      fs.writeSync(fd, data, 0, data.length, 0);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, path);
  },
};
