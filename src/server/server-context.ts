import type { Logger } from 'pino';
import type { BrokerService } from '../broker/broker-service.js';

/** What every connection shares: the broker's service, limits, identity and observers. */
export interface ServerContext {
  service: BrokerService;
  logger: Logger;
  nodeName: string;
  clusterName: string | null;
  maxFrameBytes: number;
  maxBatchBytes: number;
  maxInFlightPerConnection: number;
  idleTimeoutMs: number;
  /** Called once per answered request (metrics); `outcome` is 'ok' or the error code sent back. */
  onRequest?: (op: string, outcome: string, seconds: number) => void;
  /** Called with +1 when a request starts and -1 when it is answered (metrics). */
  onInFlight?: (delta: number) => void;
  /** Called once per DELIVERY pushed to a subscriber: bytes and messages out of a topic (metrics). */
  onDelivered?: (topic: string, bytes: number, messages: number) => void;
}
