/** Seeded draws shared by the fleet fixture and the request mix (all take the caller's RNG). */

/** One of `items`, with probability proportional to `weight(item)`. */
export function pickWeighted<T>(rng: () => number, items: readonly T[], weight: (item: T) => number): T {
  let total = 0;
  for (const item of items) total += weight(item);
  let r = rng() * total;
  for (const item of items) {
    r -= weight(item);
    if (r < 0) return item;
  }
  const last = items[items.length - 1];
  if (last === undefined) throw new RangeError('pickWeighted over an empty list');
  return last;
}

/** One of `items`, uniformly. */
export function pick<T>(rng: () => number, items: readonly T[]): T {
  const item = items[Math.floor(rng() * items.length)];
  if (item === undefined) throw new RangeError('pick over an empty list');
  return item;
}

/** Uniform on a log scale between `min` and `max`, rounded: prompt and output lengths span decades. */
export function logUniformInt(rng: () => number, min: number, max: number): number {
  return Math.round(Math.exp(Math.log(min) + rng() * (Math.log(max) - Math.log(min))));
}
