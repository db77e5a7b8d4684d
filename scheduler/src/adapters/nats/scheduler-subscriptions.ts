import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import {
  ADMIN_VERBS,
  BatchRef,
  BatchResultsRequest,
  BatchSubmitRequest,
  ClusterBudgetUpdate,
  type ErrorReply,
  type ExplainReply,
  ExplainRequest,
  LatencyReport,
  type AdminVerb,
  decode,
  Deregistration,
  encode,
  errorReply,
  Heartbeat,
  InferRequest,
  NodeCommand,
  nodeIdFromAgentSubject,
  Registration,
  SessionListRequest,
  SessionOpenRequest,
  SessionRef,
  StatusRequest,
  subjects,
  subjectToken,
  tenantFromSubject,
  WorkResult,
  type WireError,
} from '@switchyard/protocol';
import type { FleetService } from '../../service/fleet-service.js';
import type { InferenceService } from '../../service/inference-service.js';
import type { BatchService } from '../../service/batch-service.js';
import type { SessionService } from '../../service/session-service.js';
import type { Counters, Logger } from '../../service/ports.js';
import type { PowerAdmin } from '../../service/power-admin.js';
import { errorMessage } from './nats-outbox.js';

/**
 * Subscribes the scheduler's services to their subjects, decodes and validates every message at
 * this boundary, and answers malformed requests with a typed error. A handler that throws is a bug:
 * it is logged and counted, answered INTERNAL where there is someone to answer, and never stops the loop.
 */
export class SchedulerSubscriptions {
  private readonly subscriptions: Subscription[] = [];

  constructor(
    private readonly nc: NatsConnection,
    private readonly fleet: FleetService,
    private readonly inference: InferenceService,
    private readonly counters: Counters,
    private readonly log: Logger,
    private readonly sessions?: SessionService,
    private readonly batches?: BatchService,
    private readonly power?: PowerAdmin,
    private readonly explain?: (request: ExplainRequest) => ExplainReply | ErrorReply,
  ) {}

  start(): void {
    this.on(subjects.anyRegister, (msg) => {
      const nodeId = nodeIdFromAgentSubject(msg.subject) ?? '';
      const decoded = decode(Registration, msg.data);
      this.respond(msg, decoded.ok ? this.fleet.register(nodeId, decoded.value) : this.rejection(msg, decoded.error));
    });
    this.on(subjects.anyHeartbeat, (msg) => {
      const decoded = decode(Heartbeat, msg.data);
      if (decoded.ok) this.fleet.heartbeat(nodeIdFromAgentSubject(msg.subject) ?? '', decoded.value);
      else {
        this.counters.increment('heartbeats.invalid');
        this.dropInvalid(msg, decoded.error);
      }
    });
    this.on(subjects.anyResult, (msg) => {
      const decoded = decode(WorkResult, msg.data);
      if (decoded.ok) this.inference.workResult(nodeIdFromAgentSubject(msg.subject) ?? '', decoded.value);
      else this.dropInvalid(msg, decoded.error);
    });
    this.on(subjects.anyDeregister, (msg) => {
      const decoded = decode(Deregistration, msg.data);
      if (decoded.ok) this.fleet.deregister(nodeIdFromAgentSubject(msg.subject) ?? '', decoded.value);
      else this.dropInvalid(msg, decoded.error);
    });
    this.on(subjects.anyInfer, (msg) => {
      if (msg.reply === undefined || msg.reply === '') {
        this.dropInvalid(msg, {
          code: 'INVALID_REQUEST',
          message: 'inference requests need a reply subject',
          retryable: false,
        });
        return;
      }
      const decoded = decode(InferRequest, msg.data);
      if (!decoded.ok) {
        this.respond(msg, this.rejection(msg, decoded.error));
        return;
      }
      this.inference.submit(tenantFromSubject(msg.subject) ?? 'default', decoded.value, msg.reply);
    });
    const sessions = this.sessions;
    if (sessions !== undefined) {
      this.on(subjects.anySessionVerb, (msg) => {
        const tenant = tenantFromSubject(msg.subject) ?? '';
        const verb = subjectToken(msg.subject, 5);
        if (verb === 'open') {
          const decoded = decode(SessionOpenRequest, msg.data);
          if (!decoded.ok) return this.respond(msg, this.rejection(msg, decoded.error));
          this.respondLater(msg, sessions.open(tenant, decoded.value));
        } else if (verb === 'list') {
          const decoded = decode(SessionListRequest, msg.data);
          this.respond(msg, decoded.ok ? sessions.list(tenant, decoded.value) : this.rejection(msg, decoded.error));
        } else if (verb === 'get' || verb === 'close') {
          const decoded = decode(SessionRef, msg.data);
          if (!decoded.ok) return this.respond(msg, this.rejection(msg, decoded.error));
          if (verb === 'get') this.respond(msg, sessions.get(tenant, decoded.value));
          else this.respondLater(msg, sessions.close(tenant, decoded.value));
        } else {
          this.respond(
            msg,
            errorReply(
              'INVALID_REQUEST',
              `unknown session operation ${JSON.stringify(verb)}; use open, get, list or close`,
            ),
          );
        }
      });
    }
    const batches = this.batches;
    if (batches !== undefined) {
      this.on(subjects.anyBatchVerb, (msg) => {
        const tenant = tenantFromSubject(msg.subject) ?? '';
        const verb = subjectToken(msg.subject, 5);
        if (verb === 'submit') {
          const decoded = decode(BatchSubmitRequest, msg.data);
          if (!decoded.ok) return this.respond(msg, this.rejection(msg, decoded.error));
          this.respondLater(msg, batches.submit(tenant, decoded.value));
        } else if (verb === 'status') {
          const decoded = decode(BatchRef, msg.data);
          if (!decoded.ok) return this.respond(msg, this.rejection(msg, decoded.error));
          this.respondLater(msg, batches.status(tenant, decoded.value));
        } else if (verb === 'results') {
          const decoded = decode(BatchResultsRequest, msg.data);
          if (!decoded.ok) return this.respond(msg, this.rejection(msg, decoded.error));
          this.respondLater(msg, batches.results(tenant, decoded.value));
        } else {
          this.respond(
            msg,
            errorReply(
              'INVALID_REQUEST',
              `unknown batch operation ${JSON.stringify(verb)}; use submit, status or results`,
            ),
          );
        }
      });
    }
    this.on(subjects.adminStatus, (msg) => {
      const decoded = decode(StatusRequest, msg.data);
      this.respond(msg, decoded.ok ? this.fleet.status(decoded.value) : this.rejection(msg, decoded.error));
    });
    const explain = this.explain;
    if (explain !== undefined) {
      this.on(subjects.adminExplain, (msg) => {
        const decoded = decode(ExplainRequest, msg.data);
        this.respond(msg, decoded.ok ? explain(decoded.value) : this.rejection(msg, decoded.error));
      });
    }
    const power = this.power;
    if (power !== undefined) {
      this.on(subjects.adminPowerBudget, (msg) => {
        const decoded = decode(ClusterBudgetUpdate, msg.data);
        this.respond(msg, decoded.ok ? power.setBudget(decoded.value) : this.rejection(msg, decoded.error));
      });
      this.on(subjects.adminLatency, (msg) => {
        const decoded = decode(LatencyReport, msg.data);
        this.respond(msg, decoded.ok ? power.reportLatency(decoded.value) : this.rejection(msg, decoded.error));
      });
    }
    this.on(subjects.anyAdminNode, (msg) => {
      const verb = subjectToken(msg.subject, 4);
      if (!isAdminVerb(verb)) {
        this.respond(
          msg,
          errorReply(
            'INVALID_REQUEST',
            `unknown node command ${JSON.stringify(verb)}; use one of ${ADMIN_VERBS.join(', ')}`,
          ),
        );
        return;
      }
      const decoded = decode(NodeCommand, msg.data);
      this.respond(msg, decoded.ok ? this.fleet.command(verb, decoded.value) : this.rejection(msg, decoded.error));
    });
  }

  /** Stops receiving; in-flight handlers finish. */
  async drain(): Promise<void> {
    await Promise.all(this.subscriptions.map((sub) => sub.drain().catch(() => undefined)));
  }

  private on(subject: string, handle: (msg: Msg) => void): void {
    const sub = this.nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err !== null) {
          this.log.error({ subject, err: errorMessage(err) }, 'subscription error');
          return;
        }
        try {
          handle(msg);
        } catch (handlerError) {
          this.counters.increment('handler.errors');
          this.log.error({ subject: msg.subject, err: errorMessage(handlerError) }, 'handler failed');
          if (msg.reply !== undefined && msg.reply !== '')
            this.respond(msg, errorReply('INTERNAL', 'internal error; see scheduler logs'));
        }
      },
    });
    this.subscriptions.push(sub);
  }

  private rejection(msg: Msg, error: WireError): object {
    this.counters.increment(`invalid.${error.code}`);
    this.log.warn({ subject: msg.subject, code: error.code, reason: error.message }, 'invalid request rejected');
    return { v: 1, ok: false, error };
  }

  private dropInvalid(msg: Msg, error: WireError): void {
    this.fleet.drop(`invalid.${error.code}`, { subject: msg.subject, reason: error.message });
  }

  /** Answers once an asynchronous handler settles; a failure is answered INTERNAL, never left hanging. */
  private respondLater(msg: Msg, reply: Promise<object>): void {
    reply.then(
      (body) => this.respond(msg, body),
      (err: unknown) => {
        this.counters.increment('handler.errors');
        this.log.error({ subject: msg.subject, err: errorMessage(err) }, 'handler failed');
        this.respond(msg, errorReply('INTERNAL', 'internal error; see scheduler logs'));
      },
    );
  }

  private respond(msg: Msg, body: object): void {
    if (msg.reply === undefined || msg.reply === '') return;
    try {
      msg.respond(encode(body));
    } catch (err) {
      this.log.error({ subject: msg.subject, err: errorMessage(err) }, 'reply failed');
    }
  }
}

function isAdminVerb(verb: string | undefined): verb is AdminVerb {
  return verb !== undefined && (ADMIN_VERBS as readonly string[]).includes(verb);
}
