/** The project's seeded PRNG (mulberry32), for tests that must replay a failing seed. */
export { seededRandom } from '../../src/cluster/clock.js';
