import { DEFAULT_TENANT_LIMITS, type TenantQuotaConfig, TenantQuotas } from './core/admission/tenant-quotas.js';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { getModel, getProfile, type ModelSpec } from '@switchyard/fleet-model';
import { BatchQueue } from './adapters/jetstream/batch-queue.js';
import { KvSessionStore } from './adapters/jetstream/kv-session-store.js';
import { BatchService } from './service/batch-service.js';
import { NatsOutbox } from './adapters/nats/nats-outbox.js';
import { SchedulerSubscriptions } from './adapters/nats/scheduler-subscriptions.js';
import type { FailureDetectorConfig } from './core/fleet/failure-detector.js';
import { FleetView, type HostLookup } from './core/fleet/fleet-view.js';
import type { PlacementFramework } from './core/placement/framework.js';
import { PlacementIndex } from './core/placement/placement-index.js';
import { RequestLedger, type RequestLedgerConfig } from './core/requests/request-ledger.js';
import { SessionRegistry } from './core/sessions/session-registry.js';
import { FleetService } from './service/fleet-service.js';
import { InferenceService, type InferenceServiceConfig } from './service/inference-service.js';
import type { Counters, Logger } from './service/ports.js';
import { SessionService, type SessionServiceConfig } from './service/session-service.js';
import { Topology, type TopologySpec } from './core/topology/topology.js';
import { applyBudgetOverrides, type BudgetOverrides, PowerAdmin } from './service/power-admin.js';
import { PowerService } from './service/power-service.js';
import { explainPlacement } from './service/explain.js';
import type { HostView, SloClass } from '@switchyard/protocol';
import type { ClassQueueStats } from './service/admission/admission-lane.js';

/** What one term of service is built from (all of it outlives the term). */
export interface TermInputs {
  readonly schedulerId: string;
  readonly nc: NatsConnection;
  readonly log: Logger;
  readonly counters: Counters;
  readonly detector: FailureDetectorConfig;
  readonly placement: PlacementFramework;
  readonly clock: () => number;
  readonly rng: () => number;
  readonly models?: (name: string) => ModelSpec | undefined;
  readonly ledger: RequestLedgerConfig;
  readonly inference: InferenceServiceConfig;
  readonly sessions: SessionServiceConfig;
  readonly sweepIntervalMs: number;
  /** Clusters, budgets and regions (each term builds a fresh Topology from it). */
  readonly topology: TopologySpec;
  /** Budget changes made at run time; they outlive terms. */
  readonly budgetOverrides: BudgetOverrides;
  /** How often the power controller runs (default 1 s). */
  readonly powerIntervalMs: number;
  /** What Kubernetes says of the Nodes agents run on (absent outside Kubernetes). */
  readonly hosts?: HostLookup;
  /** Per-tenant quotas and rate limits (default: generous limits, sessions capped by the session config). */
  readonly tenantQuotas?: TenantQuotaConfig;
}

/** A scheduler serving: its fleet view, ledger and sessions, subscribed to every subject. */
export interface ServingTerm {
  readonly fleet: FleetView;
  readonly sessionRegistry: SessionRegistry;
  readonly sessions: SessionService | undefined;
  readonly openRequests: () => number;
  /** Admission queue figures of a class (for metrics and the fleet page). */
  readonly queueStats: (sloClass: SloClass) => ClassQueueStats;
  /** Kubernetes changed a Node: its agents drain or serve again. */
  readonly hostChanged: (host: HostView) => void;
  /** Stops taking messages; waits up to `graceMs` for open requests; stops timers. */
  stop(graceMs: number): Promise<void>;
}

/**
 * Starts serving: a fresh fleet view (rebuilt from heartbeats: agents unknown to it are told to
 * register), sessions loaded from the store, subscriptions and sweeps. A scheduler runs one term
 * at a time, for as long as it is leader (always, without high availability).
 */
export async function startServingTerm(inputs: TermInputs): Promise<ServingTerm> {
  const { schedulerId, nc, log, counters, detector, placement, clock, rng } = inputs;
  const models = inputs.models ?? getModel;
  const topology = new Topology(inputs.topology);
  applyBudgetOverrides(topology, inputs.budgetOverrides);
  const fleet = new FleetView(getProfile, detector, new PlacementIndex(), topology, inputs.hosts);
  const ledger = new RequestLedger(inputs.ledger);
  const quotas = new TenantQuotas(
    inputs.tenantQuotas ?? {
      defaults: { ...DEFAULT_TENANT_LIMITS, maxSessions: inputs.sessions.maxSessionsPerTenant },
    },
    clock,
  );
  const outbox = new NatsOutbox(nc, log);
  const inference = new InferenceService(
    schedulerId,
    fleet,
    ledger,
    placement,
    models,
    outbox,
    counters,
    log,
    clock,
    rng,
    inputs.inference,
    quotas,
  );
  inference.warmUpUntil(clock() + detector.deadAfterMs);
  const sessionRegistry = new SessionRegistry();
  let sessions: SessionService | undefined;
  let batches: BatchService | undefined;
  try {
    const jsm = await jetstreamManager(nc);
    const store = await KvSessionStore.open(nc, jsm, log);
    const sessionService = new SessionService(
      store,
      sessionRegistry,
      fleet,
      placement,
      models,
      outbox,
      counters,
      log,
      clock,
      rng,
      inputs.sessions,
      quotas,
    );
    const loaded = await sessionService.load();
    sessions = sessionService; // only once its cache is complete: an empty one would deny sessions that exist
    log.info({ sessions: loaded }, 'sessions loaded from the store');
    batches = new BatchService(
      await BatchQueue.open(nc, jsm, jetstream(nc), log),
      inference,
      models,
      counters,
      log,
      clock,
      quotas,
    );
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
    () => inference.capacityMayHaveFreed(),
  );
  const powerAdmin = new PowerAdmin(topology, inputs.budgetOverrides, counters, log);
  const powerService = new PowerService(fleet, outbox, counters, log, clock);
  const subscriptions = new SchedulerSubscriptions(
    nc,
    fleetService,
    inference,
    counters,
    log,
    sessions,
    batches,
    powerAdmin,
    (request) => explainPlacement(placement, fleet, models, request, clock(), rng),
  );
  subscriptions.start();
  try {
    await batches?.start();
  } catch (err) {
    // Half a term must not keep serving: undo what started, then fail the election.
    await subscriptions.drain();
    batches?.stop();
    outbox.close();
    throw err;
  }

  // Owners get one dead-after period to (re-)register before their sessions count as orphaned.
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
  }, inputs.sweepIntervalMs);
  const powerTimer = setInterval(() => powerService.tick(), inputs.powerIntervalMs);
  await nc.flush();

  return {
    fleet,
    sessionRegistry,
    sessions,
    openRequests: () => inference.openRequests,
    queueStats: (sloClass) => inference.admissionStats()[sloClass],
    hostChanged: (host) => fleetService.hostChanged(host),
    async stop(graceMs) {
      // Stop the sweep first: without heartbeats it would declare every node dead and move its sessions.
      clearInterval(sweepTimer);
      clearInterval(powerTimer);
      await subscriptions.drain();
      const graceEnds = Date.now() + graceMs;
      while (inference.openRequests > 0 && Date.now() < graceEnds) {
        inference.expireOverdue(); // the sweep is stopped: queued requests still get their deadline answers
        await new Promise((r) => setTimeout(r, 50));
      }
      // Requests still waiting for room are answered, never dropped (retryable: the next leader takes
      // the retry); placed ones are answered by their node.
      inference.failUnplaced('OVERLOADED', 'the scheduler stopped serving before this request was placed; retry');
      // Batch items still running go back to the queue for the next leader.
      batches?.stop();
      outbox.close();
    },
  };
}
