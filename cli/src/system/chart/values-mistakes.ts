/**
 * The mistakes values-schema.test.ts feeds values.schema.json, one valid starting point broken one
 * way each, with the error that must point at the broken value; and the few builders they share
 * with the tests of what the schema accepts.
 */
import { defaultValues, isMap, type YamlMap } from './chart-files.js';

/** A valid NVIDIA pool for the mutations to break. */
function nvidiaPool(): YamlMap {
  return {
    name: 'h100',
    probe: 'nvidia',
    profile: 'h100',
    models: ['llama-3.1-8b'],
    cluster: 'edge-fra-1',
    backend: 'openai',
  };
}

/** The defaults with one pool, as a starting point that validates. */
export function valuesWithPool(pool: YamlMap = nvidiaPool()): YamlMap {
  const values = defaultValues();
  (values['agents'] as YamlMap)['pools'] = [pool];
  return values;
}

/** Sets a dotted path (creating mappings on the way). */
export function setPath(values: YamlMap, path: string, value: unknown): YamlMap {
  const keys = path.split('.');
  let node: YamlMap = values;
  for (const key of keys.slice(0, -1)) {
    if (!isMap(node[key])) node[key] = {};
    node = node[key] as YamlMap;
  }
  node[keys.at(-1)!] = value;
  return values;
}

/** One refused value: what was broken, the values, and the error that must point at it. */
export interface Mutation {
  readonly what: string;
  readonly values: YamlMap;
  /** The instancePath an error must carry. */
  readonly path: string;
  /** That error's keyword. */
  readonly keyword: string;
}

/** The pool of valuesWithPool with some fields changed. */
export const poolWith = (changes: YamlMap): YamlMap => valuesWithPool({ ...nvidiaPool(), ...changes });
const externalNats = (url: string): YamlMap =>
  setPath(setPath(defaultValues(), 'nats.enabled', false), 'externalNats.url', url);
/** The defaults with natsAuth on, from a Secret. */
export const natsAuthOn = (values: YamlMap = defaultValues()): YamlMap =>
  setPath(setPath(values, 'natsAuth.enabled', true), 'natsAuth.secretName', 'switchyard-nats-auth');

/** The mistakes people make in values, each refused with an error at the broken value. */
export const MUTATIONS: readonly Mutation[] = [
  {
    what: 'a typo under scheduler',
    values: setPath(defaultValues(), 'scheduler.replicas', 3),
    path: '/scheduler',
    keyword: 'additionalProperties',
  },
  {
    what: 'a typo at the top level',
    values: setPath(defaultValues(), 'schedular.replicaCount', 3),
    path: '',
    keyword: 'additionalProperties',
  },
  {
    what: 'an unknown leader election mode',
    values: setPath(defaultValues(), 'scheduler.leaderElection.mode', 'etcd'),
    path: '/scheduler/leaderElection/mode',
    keyword: 'enum',
  },
  {
    what: 'negative replicas',
    values: setPath(defaultValues(), 'scheduler.replicaCount', -1),
    path: '/scheduler/replicaCount',
    keyword: 'minimum',
  },
  {
    what: 'replicas as a string',
    values: setPath(defaultValues(), 'scheduler.replicaCount', '2'),
    path: '/scheduler/replicaCount',
    keyword: 'type',
  },
  {
    what: 'two replicas without leader election',
    values: setPath(defaultValues(), 'scheduler.leaderElection.mode', 'none'),
    path: '/scheduler/replicaCount',
    keyword: 'maximum',
  },
  {
    what: 'a port above 65535',
    values: setPath(defaultValues(), 'scheduler.service.port', 70000),
    path: '/scheduler/service/port',
    keyword: 'maximum',
  },
  {
    what: 'port 0',
    values: setPath(defaultValues(), 'scheduler.service.port', 0),
    path: '/scheduler/service/port',
    keyword: 'minimum',
  },
  {
    what: 'a grace period not above the 10 s shutdown grace',
    values: setPath(defaultValues(), 'scheduler.terminationGracePeriodSeconds', 10),
    path: '/scheduler/terminationGracePeriodSeconds',
    keyword: 'minimum',
  },
  {
    what: 'kubernetes: on read by YAML 1.1 as a boolean',
    values: setPath(defaultValues(), 'scheduler.kubernetes', true),
    path: '/scheduler/kubernetes',
    keyword: 'enum',
  },
  {
    what: 'a scrape interval that is not a duration',
    values: setPath(defaultValues(), 'metrics.serviceMonitor.interval', '30 seconds'),
    path: '/metrics/serviceMonitor/interval',
    keyword: 'pattern',
  },
  {
    what: 'an unknown log level',
    values: setPath(defaultValues(), 'logLevel', 'verbose'),
    path: '/logLevel',
    keyword: 'enum',
  },
  {
    what: 'a malformed image digest',
    values: setPath(defaultValues(), 'image.digest', 'sha256:abc'),
    path: '/image/digest',
    keyword: 'pattern',
  },
  {
    what: 'an invalid label value',
    values: setPath(defaultValues(), 'commonLabels.team', 'inference platform'),
    path: '/commonLabels/team',
    keyword: 'pattern',
  },
  {
    what: 'a power safety margin over 0.5',
    values: setPath(defaultValues(), 'scheduler.topology.clusters', [
      { name: 'fra', powerBudgetWatts: 1000, safetyMargin: 0.6 },
    ]),
    path: '/scheduler/topology/clusters/0/safetyMargin',
    keyword: 'maximum',
  },
  {
    what: 'a cluster without a power budget',
    values: setPath(defaultValues(), 'scheduler.topology.clusters', [{ name: 'fra' }]),
    path: '/scheduler/topology/clusters/0',
    keyword: 'required',
  },
  {
    what: 'a percentage over 100',
    values: setPath(defaultValues(), 'agents.maxUnavailable', '150%'),
    path: '/agents/maxUnavailable',
    keyword: 'anyOf',
  },
  { what: 'an unknown probe', values: poolWith({ probe: 'rocm' }), path: '/agents/pools/0/probe', keyword: 'enum' },
  {
    what: 'an unknown profile',
    values: poolWith({ profile: 'b200' }),
    path: '/agents/pools/0/profile',
    keyword: 'enum',
  },
  {
    what: 'a Trainium profile on the nvidia probe',
    values: poolWith({ profile: 'trn2' }),
    path: '/agents/pools/0/profile',
    keyword: 'enum',
  },
  {
    what: 'a GPU profile on the neuron probe',
    values: poolWith({ probe: 'neuron', profile: 'h100' }),
    path: '/agents/pools/0/profile',
    keyword: 'enum',
  },
  {
    what: 'a pool without a cluster',
    values: valuesWithPool({ ...nvidiaPool(), cluster: undefined }),
    path: '/agents/pools/0',
    keyword: 'required',
  },
  {
    what: 'an invalid pool name',
    values: poolWith({ name: 'H100_pool' }),
    path: '/agents/pools/0/name',
    keyword: 'pattern',
  },
  {
    what: 'a model name with a space',
    values: poolWith({ models: ['llama 3'] }),
    path: '/agents/pools/0/models/0',
    keyword: 'pattern',
  },
  {
    what: 'an agent requesting the GPUs',
    values: poolWith({ resources: { limits: { 'nvidia.com/gpu': 8 } } }),
    path: '/agents/pools/0/resources/limits',
    keyword: 'propertyNames',
  },
  {
    what: 'agents requesting Neuron devices',
    values: setPath(defaultValues(), 'agents.resources.requests', { 'aws.amazon.com/neuron': 1 }),
    path: '/agents/resources/requests',
    keyword: 'propertyNames',
  },
  {
    what: 'power limits on a Neuron pool',
    values: valuesWithPool({ ...nvidiaPool(), probe: 'neuron', profile: 'trn2', allowPowerLimits: true }),
    path: '/agents/pools/0/probe',
    keyword: 'const',
  },
  {
    what: 'a simulated pool that would land on every node',
    values: valuesWithPool({ ...nvidiaPool(), probe: 'simulated', backend: 'simulated' }),
    path: '/agents/pools/0',
    keyword: 'required',
  },
  {
    what: 'model server settings on the simulated backend',
    values: poolWith({ backend: 'simulated', modelServer: { api: 'chat' } }),
    path: '/agents/pools/0',
    keyword: 'not',
  },
  {
    what: 'an unknown model server API',
    values: poolWith({ modelServer: { api: 'responses' } }),
    path: '/agents/pools/0/modelServer/api',
    keyword: 'enum',
  },
  {
    what: 'no NATS at all',
    values: setPath(defaultValues(), 'nats.enabled', false),
    path: '/externalNats/url',
    keyword: 'minLength',
  },
  {
    what: 'an external URL next to the in-chart NATS',
    values: setPath(defaultValues(), 'externalNats.url', 'nats://nats:4222'),
    path: '/externalNats/url',
    keyword: 'const',
  },
  {
    what: 'credentials inside the NATS URL',
    values: externalNats('nats://switchyard:hunter2@nats.messaging:4222'),
    path: '/externalNats/url',
    keyword: 'pattern',
  },
  {
    what: 'a password inline in values',
    values: setPath(defaultValues(), 'externalNats.password', 'hunter2'),
    path: '/externalNats',
    keyword: 'additionalProperties',
  },
  {
    what: 'a NATS password inline in extraEnv',
    values: setPath(defaultValues(), 'scheduler.extraEnv', [{ name: 'SWITCHYARD_NATS_PASSWORD', value: 'hunter2' }]),
    path: '/scheduler/extraEnv/0',
    keyword: 'not',
  },
  {
    what: 'a NATS token inline in a pool env',
    values: poolWith({ env: [{ name: 'SWITCHYARD_NATS_TOKEN', value: 's3cret' }] }),
    path: '/agents/pools/0/env/0',
    keyword: 'not',
  },
  {
    what: 'a user key without a password key',
    values: setPath(
      setPath(defaultValues(), 'externalNats.existingSecret.name', 'nats-auth'),
      'externalNats.existingSecret.userKey',
      'user',
    ),
    path: '/externalNats/existingSecret/passwordKey',
    keyword: 'minLength',
  },
  {
    what: 'secret keys without a Secret',
    values: setPath(defaultValues(), 'externalNats.existingSecret.tokenKey', 'token'),
    path: '/externalNats/existingSecret/tokenKey',
    keyword: 'const',
  },
  {
    what: 'natsAuth next to the shared credentials of externalNats.existingSecret',
    values: setPath(
      setPath(natsAuthOn(), 'externalNats.existingSecret.name', 'nats-credentials'),
      'externalNats.existingSecret.tokenKey',
      'token',
    ),
    path: '/externalNats/existingSecret/name',
    keyword: 'const',
  },
  {
    what: 'natsAuth without its Secret',
    values: setPath(defaultValues(), 'natsAuth.enabled', true),
    path: '/natsAuth/secretName',
    keyword: 'minLength',
  },
  {
    what: 'a scheduler NATS user that is not a subject token',
    values: setPath(natsAuthOn(), 'natsAuth.schedulerUser', 'sched.a'),
    path: '/natsAuth/schedulerUser',
    keyword: 'pattern',
  },
  {
    what: 'a pool NATS user with a wildcard',
    values: natsAuthOn(poolWith({ natsUser: 'gpu-*' })),
    path: '/agents/pools/0/natsUser',
    keyword: 'pattern',
  },
  {
    what: 'a typo under natsAuth',
    values: setPath(natsAuthOn(), 'natsAuth.secret', 'switchyard-nats-auth'),
    path: '/natsAuth',
    keyword: 'additionalProperties',
  },
  {
    what: 'a Secret without any key',
    values: setPath(defaultValues(), 'externalNats.existingSecret.name', 'nats-auth'),
    path: '/externalNats/existingSecret/userKey',
    keyword: 'minLength',
  },
];
