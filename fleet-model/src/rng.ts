/**
 * Seeded randomness. Simulations must replay exactly from a seed, so nothing in the fleet model
 * touches Math.random.
 */

/**
 * A deterministic generator of numbers in [0, 1) (mulberry32: 32-bit state, full period 2^32, fast
 * and well distributed enough for jitter and tie-breaks; not for cryptography). The seed is reduced
 * to its low 32 bits, so seeds that differ only above bit 31 or in their fraction give the same stream.
 */
export function createRng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
