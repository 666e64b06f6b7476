/**
 * Consumer groups: the coordinator role, its durable store, sticky assignment, queue-mode
 * dispatch and dead letters. The broker wires one GroupCoordinator per node.
 */
import type { BrokerService } from '../broker/broker-service.js';
import { GregorError } from '../errors.js';
import type { GroupCoordinator } from './group-coordinator.js';

export { DLQ_HEADERS, deadLetterTopic } from './dead-letter.js';
export { DEFAULT_GROUP_DEFAULTS, type GroupDefaults } from './group.js';
export { GroupCoordinator, type GroupCoordinatorOptions, type RequestOrigin } from './group-coordinator.js';
export { createMemoryGroupStore, type GroupStore, openFileGroupStore } from './group-store.js';
export { NOT_BEFORE_HEADER } from './queue-dispatch.js';
export { assignSticky } from './sticky-assignor.js';

const coordinators = new WeakMap<BrokerService, GroupCoordinator>();

/** Makes `coordinator` serve the group ops of connections sharing `service` (broker wiring). */
export function attachGroupCoordinator(service: BrokerService, coordinator: GroupCoordinator): void {
  coordinators.set(service, coordinator);
}

/** The coordinator serving `service`'s connections; UNKNOWN_OP when the broker runs none. */
export function groupCoordinatorOf(service: BrokerService): GroupCoordinator {
  const c = coordinators.get(service);
  if (!c) throw new GregorError('UNKNOWN_OP', 'this broker runs no group coordinator');
  return c;
}
