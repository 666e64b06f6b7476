/**
 * Polyfills libp2p 3 needs on Node 20. Import this module before anything from libp2p: ES module
 * evaluation follows import order, so the globals exist by the time libp2p's modules run.
 */

interface WithResolvers<T> {
  promise: Promise<T>;
  resolve: (value: T | PromiseLike<T>) => void;
  reject: (reason?: unknown) => void;
}

const P = Promise as unknown as { withResolvers?: <T>() => WithResolvers<T> };

if (typeof P.withResolvers !== 'function') {
  // Node 22 ships Promise.withResolvers; Node 20 does not, and libp2p 3 calls it on every dial.
  P.withResolvers = <T>(): WithResolvers<T> => {
    let resolve!: (value: T | PromiseLike<T>) => void;
    let reject!: (reason?: unknown) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

/** True once the polyfills are in place (importing this module installs them). */
export const polyfillsInstalled = true;
