import type { SloClass } from '@switchyard/protocol';
import type { SimRequest } from './simulator.js';

/**
 * A seeded Poisson stream of llama-3.1-8b requests with uniform prompt and output sizes and a fixed
 * class mix (half interactive, a quarter standard, a quarter batch), for speed runs and tests. Its
 * RNG is a plain Lehmer generator, independent of the code it exercises.
 */
export function mixedPoissonStream(
  count: number,
  meanGapMs: number,
  seed = 1,
  sizes: { readonly input: readonly [number, number]; readonly output: readonly [number, number] } = {
    input: [200, 2_200],
    output: [20, 320],
  },
): SimRequest[] {
  let state = seed;
  const next = (): number => (state = (state * 48_271) % 2_147_483_647) / 2_147_483_647;
  const classes: SloClass[] = ['interactive', 'interactive', 'standard', 'batch'];
  let atMs = 0;
  return Array.from({ length: count }, (_, i) => {
    atMs += -Math.log(1 - next()) * meanGapMs;
    return {
      arrivalMs: atMs,
      model: 'llama-3.1-8b',
      inputTokens: sizes.input[0] + Math.floor(next() * (sizes.input[1] - sizes.input[0])),
      outputTokens: sizes.output[0] + Math.floor(next() * (sizes.output[1] - sizes.output[0])),
      sloClass: classes[i % classes.length]!,
    };
  });
}
