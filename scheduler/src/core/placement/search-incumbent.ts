import type { NodeRecord } from '../fleet/node-record.js';
import type { Estimate } from './types.js';

/** Scores closer than this are ties (the max-score picker's tolerance). */
const TIE_EPSILON = 1e-9;
/**
 * Items whose bound can only tie the best found are still opened, this many per decision, so that
 * equal nodes in different clusters share the work (the scan spreads ties over every tied node).
 */
const TIE_OPENINGS = 3;

/** The best node found, its score and its estimate. */
export interface BoundedPick {
  readonly node: NodeRecord;
  readonly score: number;
  readonly estimate: Estimate;
}

/**
 * The best node a search has scored so far, and what is still worth opening: anything whose bound
 * beats the best by more than the tie tolerance, and a few things that can only tie it. Among
 * offers within the tolerance it keeps one at random, weighted (reservoir sampling with the
 * decision's RNG). Reused from decision to decision.
 */
export class Incumbent {
  private best = Number.NEGATIVE_INFINITY;
  private tieWeight = 0;
  private tieOpenings = 0;
  private chosen: NodeRecord | undefined;
  private chosenEstimate: Estimate | undefined;
  private rng: () => number = Math.random;

  /** Forgets the last decision's best. */
  reset(rng: () => number): void {
    this.rng = rng;
    this.best = Number.NEGATIVE_INFINITY;
    this.tieWeight = 0;
    this.tieOpenings = TIE_OPENINGS;
    this.chosen = undefined;
    this.chosenEstimate = undefined;
  }

  /** Whether something bounded by `bound` could beat the best found, or tie it while tie openings last. */
  mayReach(bound: number): boolean {
    return bound >= this.best + TIE_EPSILON || (this.tieOpenings > 0 && bound >= this.best - TIE_EPSILON);
  }

  /** `mayReach`, for an item about to be opened: opening one that can only tie uses up a tie opening. */
  opens(bound: number): boolean {
    if (!this.mayReach(bound)) return false;
    if (bound < this.best + TIE_EPSILON) this.tieOpenings--;
    return true;
  }

  /** Keeps `node` if it scores best; among scores within the tie tolerance, by weight. */
  offer(score: number, node: NodeRecord, estimate: Estimate, weight: number): void {
    if (score > this.best + TIE_EPSILON) {
      this.best = score;
      this.tieWeight = weight;
      this.chosen = node;
      this.chosenEstimate = estimate;
      return;
    }
    if (score < this.best - TIE_EPSILON) return;
    this.tieWeight += weight;
    if (this.rng() * this.tieWeight < weight) {
      this.chosen = node;
      this.chosenEstimate = estimate;
    }
  }

  /** The node kept, or undefined when nothing was offered. */
  pick(): BoundedPick | undefined {
    const node = this.chosen;
    const estimate = this.chosenEstimate;
    return node === undefined || estimate === undefined ? undefined : { node, score: this.best, estimate };
  }
}
