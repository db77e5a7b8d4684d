/**
 * Heartbeat ingest at 10k nodes: what the scheduler does per heartbeat message (the NATS adapter
 * takes the node id from the subject and decodes the body; FleetService checks the body's node id
 * against it, applies it to the FleetView, which re-files the node in the placement index, and
 * counts it), and decode and apply alone. Messages are pre-encoded in rounds (every node once per
 * round, in a shuffled order, with fresh load figures each round); when a case has used every
 * round, the sequence numbers inside the bytes are rewritten upwards (untimed) so that no
 * heartbeat is ever stale.
 */
import { createRng } from '@switchyard/fleet-model';
import { Heartbeat, decode, encode, nodeIdFromAgentSubject, subjects } from '@switchyard/protocol';
import { Counters, type HeartbeatOutcome } from '@switchyard/scheduler';
import { buildFleetFixture, type FleetFixture } from './fleet-fixture.js';
import { selected, shortCount, type MicroCase, type SuiteOptions, type SuitePlan } from './runner.js';

export const HEARTBEAT_SUITE = 'heartbeat';
export const DEFAULT_HEARTBEAT_NODES = 10_000;

/** Sequence numbers in the pre-encoded bytes have exactly this many digits, so they can be rewritten in place. */
const SEQ_DIGITS = 9;
const SEQ_START = 10 ** (SEQ_DIGITS - 1);
const SEQ_KEY = new TextEncoder().encode('"seq":');
const DIGIT_ZERO = 0x30;
/** Heartbeats applied per call in the apply-only case (one apply is too short to time alone). */
const APPLY_BATCH = 64;

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

function writeDigits(bytes: Uint8Array, offset: number, value: number): void {
  let rest = value;
  for (let d = SEQ_DIGITS - 1; d >= 0; d--) {
    bytes[offset + d] = DIGIT_ZERO + (rest % 10);
    rest = Math.floor(rest / 10);
  }
}

/** Encoded heartbeats for every node of a fixture, `rounds` times, whose sequence numbers can be moved on. */
export class HeartbeatStream {
  readonly messages: Uint8Array[] = [];
  /** The subject each message arrives on (`sy.v1.agent.<nodeId>.heartbeat`). */
  readonly subjects: string[] = [];
  /** Byte offset of each message's sequence digits. */
  private readonly seqOffsets: number[] = [];
  /** Round of each message (its sequence number is `seqBase + round`). */
  private readonly roundOf: number[] = [];
  private seqBase = SEQ_START;

  constructor(
    fixture: FleetFixture,
    readonly rounds: number,
    seed: number,
  ) {
    const rng = createRng(seed);
    const order = fixture.nodes.map((_, i) => i);
    for (let round = 0; round < rounds; round++) {
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(rng() * (i + 1));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      for (const index of order) {
        const bytes = encode(fixture.heartbeat(index, this.seqBase + round, fixture.nowMs, rng));
        const at = indexOf(bytes, SEQ_KEY);
        if (at < 0) throw new Error('encoded heartbeat has no "seq" field');
        this.messages.push(bytes);
        this.subjects.push(subjects.heartbeat(fixture.nodes[index]!.nodeId));
        this.seqOffsets.push(at + SEQ_KEY.length);
        this.roundOf.push(round);
      }
    }
  }

  get size(): number {
    return this.messages.length;
  }

  /** Moves every message `rounds` sequence numbers on, so the whole stream can be replayed as newer heartbeats. */
  advance(): void {
    this.seqBase += this.rounds;
    if (this.seqBase + this.rounds >= 10 * SEQ_START)
      throw new RangeError('heartbeat stream ran out of sequence numbers');
    for (let k = 0; k < this.messages.length; k++) {
      writeDigits(this.messages[k]!, this.seqOffsets[k]!, this.seqBase + this.roundOf[k]!);
    }
  }
}

/** Outcomes other than 'applied' seen by the ingest cases; the report shows them (expected 0). */
interface OutcomeCounter {
  applied: number;
  other: number;
}

function count(counter: OutcomeCounter, outcome: HeartbeatOutcome): void {
  if (outcome === 'applied') counter.applied++;
  else counter.other++;
}

/** The heartbeat suite. */
export function planHeartbeatSuite(options: SuiteOptions): SuitePlan {
  const nodes = options.nodeCounts?.[0] ?? DEFAULT_HEARTBEAT_NODES;
  const at = `@ ${shortCount(nodes)} nodes`;
  const names = {
    decode: `decode(Heartbeat) ${at}`,
    ingest: `decode + applyHeartbeat ${at}`,
    apply: `applyHeartbeat alone, batches of ${APPLY_BATCH} ${at}`,
  };
  const cases: MicroCase[] = [];
  const counters = { ingest: { applied: 0, other: 0 }, apply: { applied: 0, other: 0 } };
  const checks: Record<string, number | string> = {};
  const rounds = 4;
  const wantDecode = selected(options, HEARTBEAT_SUITE, names.decode);
  const wantIngest = selected(options, HEARTBEAT_SUITE, names.ingest);
  const wantApply = selected(options, HEARTBEAT_SUITE, names.apply);

  if (wantDecode || wantIngest) {
    const fixture = buildFleetFixture({ nodes, seed: options.seed });
    const stream = new HeartbeatStream(fixture, rounds, options.seed + 10);
    const bytesTotal = stream.messages.reduce((sum, m) => sum + m.byteLength, 0);
    checks['meanHeartbeatBytes'] = Math.round(bytesTotal / stream.size);
    if (wantDecode) {
      let cursor = 0;
      cases.push({
        suite: HEARTBEAT_SUITE,
        name: names.decode,
        opsPerCall: 1,
        beforeEach: () => {
          if (cursor >= stream.size) cursor = 0;
        },
        fn: () => {
          const decoded = decode(Heartbeat, stream.messages[cursor++]!);
          if (!decoded.ok) throw new Error(decoded.error.message);
          return decoded;
        },
      });
    }
    if (wantIngest) {
      let cursor = 0;
      let nowMs = fixture.nowMs;
      const fleet = fixture.fleet;
      const serviceCounters = new Counters();
      cases.push({
        suite: HEARTBEAT_SUITE,
        name: names.ingest,
        opsPerCall: 1,
        target: { minOpsPerSec: 100_000, label: 'DESIGN: ≥ 100k heartbeats/s' },
        beforeEach: () => {
          if (cursor < stream.size) return;
          stream.advance();
          cursor = 0;
          nowMs += 1_000;
        },
        fn: () => {
          const subjectNodeId = nodeIdFromAgentSubject(stream.subjects[cursor]!);
          const decoded = decode(Heartbeat, stream.messages[cursor++]!);
          if (!decoded.ok) throw new Error(decoded.error.message);
          if (decoded.value.nodeId !== subjectNodeId)
            throw new Error(`heartbeat of ${subjectNodeId} names another node`);
          const outcome = fleet.applyHeartbeat(decoded.value, nowMs);
          serviceCounters.increment(outcome === 'applied' ? 'heartbeats.applied' : 'heartbeats.stale');
          count(counters.ingest, outcome);
        },
      });
    }
  }

  if (wantApply) {
    // A fleet of its own, so that its sequence numbers never race the ingest case's.
    const fixture = buildFleetFixture({ nodes, seed: options.seed });
    const stream = new HeartbeatStream(fixture, rounds, options.seed + 20);
    const heartbeats: Heartbeat[] = stream.messages.map((bytes) => {
      const decoded = decode(Heartbeat, bytes);
      if (!decoded.ok) throw new Error(decoded.error.message);
      return decoded.value;
    });
    // Whole batches only, so that a batch never straddles the end of the stream.
    const usable = heartbeats.length - (heartbeats.length % APPLY_BATCH);
    let cursor = 0;
    let nowMs = fixture.nowMs;
    const fleet = fixture.fleet;
    cases.push({
      suite: HEARTBEAT_SUITE,
      name: names.apply,
      opsPerCall: APPLY_BATCH,
      beforeEach: () => {
        if (cursor < usable) return;
        for (const heartbeat of heartbeats) heartbeat.seq += rounds;
        cursor = 0;
        nowMs += 1_000;
      },
      fn: () => {
        for (let k = 0; k < APPLY_BATCH; k++) count(counters.apply, fleet.applyHeartbeat(heartbeats[cursor++]!, nowMs));
      },
    });
  }

  return {
    suite: HEARTBEAT_SUITE,
    cases,
    checks,
    // Every timed heartbeat must have been applied (none stale, none unknown); expected 0.
    afterRun: () => ({
      ingestNotApplied: counters.ingest.other,
      applyNotApplied: counters.apply.other,
      applied: counters.ingest.applied + counters.apply.applied,
    }),
  };
}
