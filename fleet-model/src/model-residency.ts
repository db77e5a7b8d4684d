/**
 * Which models a node holds in HBM and how much HBM is spoken for. The ledger counts the weights of
 * every loaded or loading model plus the KV cache reserved by admitted jobs (each job reserves the
 * cache for its full prompt + output up front, so it can never run out mid-decode). A model with no
 * admitted jobs is idle and may be evicted, least recently used first, to make room.
 */
import type { ModelSpec } from './types.js';

/** A model resident on the node. */
export interface ResidentModel<J> {
  readonly spec: ModelSpec;
  state: 'loaded' | 'loading';
  /** When a loading model becomes usable. */
  readyAtMs: number;
  lastUsedMs: number;
  /** Admitted jobs that use it; a model with none may be evicted. */
  jobs: number;
  /** Jobs admitted while it loads, in admission order. */
  waiting: J[];
}

/** The node's HBM ledger and resident models; J is the owner's job type. */
export class ModelResidency<J> {
  private readonly resident = new Map<string, ResidentModel<J>>();
  private usedBytes = 0;

  constructor(readonly totalBytes: number) {}

  /** Weights of resident models plus reserved KV bytes. */
  get hbmUsedBytes(): number {
    return this.usedBytes;
  }

  /** The resident model of this name, loaded or loading. */
  get(name: string): ResidentModel<J> | undefined {
    return this.resident.get(name);
  }

  /** Resident models in the order they arrived. */
  list(): IterableIterator<ResidentModel<J>> {
    return this.resident.values();
  }

  /** Makes `spec` resident and loaded at `atMs`; false (and no change) if it does not fit. */
  preload(spec: ModelSpec, atMs: number): boolean {
    if (this.resident.has(spec.name)) return true;
    if (this.usedBytes + spec.weightBytes > this.totalBytes) return false;
    this.usedBytes += spec.weightBytes;
    this.resident.set(spec.name, { spec, state: 'loaded', readyAtMs: atMs, lastUsedMs: atMs, jobs: 0, waiting: [] });
    return true;
  }

  /**
   * Reserves `kvBytes` for a job of `spec` at `nowMs`, starting a load that completes after `loadMs`
   * if the model is not resident, and evicting idle models if HBM is short. Returns the model, or
   * undefined (and no change) when room cannot be made because the other models are busy.
   */
  reserve(spec: ModelSpec, kvBytes: number, nowMs: number, loadMs: number): ResidentModel<J> | undefined {
    let model = this.resident.get(spec.name);
    const needBytes = kvBytes + (model === undefined ? spec.weightBytes : 0);
    if (this.usedBytes + needBytes > this.totalBytes && !this.evictFor(needBytes, spec.name)) return undefined;
    if (model === undefined) {
      model = { spec, state: 'loading', readyAtMs: nowMs + loadMs, lastUsedMs: nowMs, jobs: 0, waiting: [] };
      this.resident.set(spec.name, model);
      this.usedBytes += spec.weightBytes;
    }
    this.usedBytes += kvBytes;
    return model;
  }

  /** Returns a finished or cancelled job's KV bytes to the pool. */
  releaseKv(kvBytes: number): void {
    this.usedBytes -= kvBytes;
  }

  /** The loading model that becomes ready first (ties: earliest to start loading). */
  nextLoad(): ResidentModel<J> | undefined {
    let best: ResidentModel<J> | undefined;
    for (const model of this.resident.values()) {
      if (model.state === 'loading' && (best === undefined || model.readyAtMs < best.readyAtMs)) best = model;
    }
    return best;
  }

  private evictFor(needBytes: number, keep: string): boolean {
    const idle = [...this.resident.values()].filter(
      (m) => m.state === 'loaded' && m.jobs === 0 && m.spec.name !== keep,
    );
    const freeable = idle.reduce((sum, m) => sum + m.spec.weightBytes, 0);
    // Check before evicting anything, so a job that must wait anyway costs no warm model.
    if (this.usedBytes - freeable + needBytes > this.totalBytes) return false;
    idle.sort((a, b) => a.lastUsedMs - b.lastUsedMs || (a.spec.name < b.spec.name ? -1 : 1));
    for (const model of idle) {
      if (this.usedBytes + needBytes <= this.totalBytes) break;
      this.resident.delete(model.spec.name);
      this.usedBytes -= model.spec.weightBytes;
    }
    return true;
  }
}
