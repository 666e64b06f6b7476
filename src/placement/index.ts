/** Placement: the consistent-hash ring and the bounded-load partition map built on it. */
export {
  compareIds,
  createRing,
  DEFAULT_VNODES_PER_NODE,
  type HashRing,
  lookup,
  RING_SPACE,
  ringDistance,
  ringPosition,
  successorIndex,
} from './hash-ring.js';
export {
  boundedCapacity,
  computePlacement,
  DEFAULT_LEADER_LOAD_FACTOR,
  DEFAULT_LOAD_FACTOR,
  type NodeLoad,
  type PartitionAssignment,
  type Placement,
  type PlacementMember,
  type PlacementOptions,
  type PlacementTopic,
} from './placement.js';
export {
  assignmentOf,
  diffPlacements,
  type LoadStats,
  loadStats,
  ownerOf,
  ownerOfKey,
  type PartitionChange,
  type PlacementDiff,
  partitionsOf,
} from './placement-queries.js';
