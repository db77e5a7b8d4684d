import { randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { createRng, getModel, getProfile, type ModelSpec } from '@switchyard/fleet-model';
import { pino } from 'pino';
import { NatsOutbox } from './adapters/nats/nats-outbox.js';
import { SchedulerSubscriptions } from './adapters/nats/scheduler-subscriptions.js';
import { KvSessionStore } from './adapters/jetstream/kv-session-store.js';
import { SessionRegistry } from './core/sessions/session-registry.js';
import { DEFAULT_SESSION_CONFIG, SessionService, type SessionServiceConfig } from './service/session-service.js';
import {
  DEFAULT_FAILURE_DETECTOR,
  type FailureDetectorConfig,
  validateFailureDetectorConfig,
} from './core/fleet/failure-detector.js';
import { FleetView } from './core/fleet/fleet-view.js';
import { PlacementIndex } from './core/placement/placement-index.js';
import { buildPlacement, DEFAULT_PLACEMENT_CONFIG, type PlacementConfig } from './core/placement/registry.js';
import { DEFAULT_REQUEST_LEDGER, RequestLedger, type RequestLedgerConfig } from './core/requests/request-ledger.js';
import { FleetService } from './service/fleet-service.js';
import {
  DEFAULT_INFERENCE_CONFIG,
  InferenceService,
  type InferenceServiceConfig,
} from './service/inference-service.js';
import { Counters, type Logger } from './service/ports.js';

/** Everything a scheduler process is configured with. */
export interface SchedulerConfig {
  readonly natsUrl: string;
  /** Defaults to `sched-<random>`; must be a subject token. */
  readonly schedulerId?: string;
  readonly failureDetector?: FailureDetectorConfig;
  readonly placement?: PlacementConfig;
  readonly ledger?: RequestLedgerConfig;
  readonly inference?: InferenceServiceConfig;
  /** How often liveness and deadlines are checked (default 200 ms). */
  readonly sweepIntervalMs?: number;
  /** Seed of the tie-breaking RNG (default: random). */
  readonly seed?: number;
  readonly logLevel?: string;
  /** Where logs go (default stdout). */
  readonly logDestination?: NodeJS.WritableStream;
  /** Model catalogue lookup (default: fleet-model's). */
  readonly models?: (name: string) => ModelSpec | undefined;
  /** Graceful stop waits this long for open requests to be answered (default 10 s). */
  readonly shutdownGraceMs?: number;
  readonly sessions?: SessionServiceConfig;
}

/** A running scheduler. */
export interface SchedulerHandle {
  readonly schedulerId: string;
  readonly fleet: FleetView;
  readonly counters: Counters;
  readonly openRequests: () => number;
  /** Sessions, when the NATS server has JetStream (undefined otherwise). */
  readonly sessions: SessionService | undefined;
  readonly sessionRegistry: SessionRegistry;
  /** Stops taking messages, waits (bounded) for open requests, closes the connection. */
  stop(): Promise<void>;
  /** Resolves when the NATS connection closes for good. */
  readonly closed: Promise<void>;
}

/** Composition root of the scheduler process: wires core, services and the NATS adapter. */
export async function startScheduler(config: SchedulerConfig): Promise<SchedulerHandle> {
  const schedulerId = config.schedulerId ?? `sched-${randomBytes(4).toString('hex')}`;
  const log: Logger = pino(
    { level: config.logLevel ?? 'info', base: { service: 'scheduler', schedulerId } },
    config.logDestination ?? process.stdout,
  );
  const detector = validateFailureDetectorConfig(config.failureDetector ?? DEFAULT_FAILURE_DETECTOR);
  const placement = buildPlacement(config.placement ?? DEFAULT_PLACEMENT_CONFIG);
  const clock = Date.now;
  const rng = createRng(config.seed ?? randomBytes(4).readUInt32LE(0));
  const counters = new Counters();
  const fleet = new FleetView(getProfile, detector, new PlacementIndex());
  const ledger = new RequestLedger(config.ledger ?? DEFAULT_REQUEST_LEDGER);

  const nc: NatsConnection = await connect({
    servers: config.natsUrl,
    name: schedulerId,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
  });
  const outbox = new NatsOutbox(nc, log);
  const inference = new InferenceService(
    schedulerId,
    fleet,
    ledger,
    placement,
    config.models ?? getModel,
    outbox,
    counters,
    log,
    clock,
    rng,
    config.inference ?? DEFAULT_INFERENCE_CONFIG,
  );
  const sessionRegistry = new SessionRegistry();
  let sessions: SessionService | undefined;
  try {
    const store = await KvSessionStore.open(nc, await jetstreamManager(nc), log);
    sessions = new SessionService(
      store,
      sessionRegistry,
      fleet,
      placement,
      config.models ?? getModel,
      outbox,
      counters,
      log,
      clock,
      rng,
      config.sessions ?? DEFAULT_SESSION_CONFIG,
    );
    const loaded = await sessions.load();
    log.info({ sessions: loaded }, 'sessions loaded from the store');
  } catch (err) {
    log.warn({ err: err instanceof Error ? err.message : String(err) }, 'JetStream unavailable: sessions are disabled');
  }
  const fleetService = new FleetService(
    schedulerId,
    fleet,
    detector,
    outbox,
    counters,
    log,
    clock,
    (nodeId, lost) => inference.nodeLost(nodeId, lost),
    (nodeId, reason) => sessions?.nodeGone(nodeId, reason),
  );
  const subscriptions = new SchedulerSubscriptions(nc, fleetService, inference, counters, log, sessions);
  subscriptions.start();
  void watchConnection(nc, log);

  // Owners are given one dead-after period to (re-)register before their sessions count as orphaned.
  const orphanSweepFromMs = clock() + detector.deadAfterMs;
  let lastOrphanSweepMs = 0;
  const sweepTimer = setInterval(() => {
    fleetService.sweep();
    inference.expireOverdue();
    const nowMs = clock();
    if (nowMs >= orphanSweepFromMs && nowMs - lastOrphanSweepMs >= 1000) {
      lastOrphanSweepMs = nowMs;
      sessions?.sweepOrphans();
    }
  }, config.sweepIntervalMs ?? 200);
  await nc.flush();
  log.info({ natsUrl: config.natsUrl, nodesAfterMs: detector }, 'scheduler ready');

  let stopping: Promise<void> | undefined;
  return {
    schedulerId,
    fleet,
    counters,
    openRequests: () => inference.openRequests,
    sessions,
    sessionRegistry,
    closed: nc.closed().then(() => undefined),
    stop() {
      stopping ??= (async () => {
        await subscriptions.drain();
        const graceEnds = Date.now() + (config.shutdownGraceMs ?? 10_000);
        while (inference.openRequests > 0 && Date.now() < graceEnds) await new Promise((r) => setTimeout(r, 50));
        clearInterval(sweepTimer);
        outbox.close();
        log.info({ openRequests: inference.openRequests }, 'scheduler stopped');
        await nc.drain().catch(() => nc.close());
      })();
      return stopping;
    },
  };
}

async function watchConnection(nc: NatsConnection, log: Logger): Promise<void> {
  for await (const status of nc.status()) {
    if (status.type === 'disconnect' || status.type === 'reconnect' || status.type === 'error') {
      log.warn({ status: status.type }, 'NATS connection');
    }
  }
}
