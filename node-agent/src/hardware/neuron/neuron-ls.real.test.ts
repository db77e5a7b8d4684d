import { chmod, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { ProbeError } from '../probe.js';
import { parsePythonLiteral } from './fixtures/python-literal.js';
import { parseNeuronLs, runNeuronLs } from './neuron-ls.js';

// neuron-ls output captured on real machines (fixtures/real, sources in fixtures/SOURCES.md): the
// JSON of a trn1.2xlarge and of a trn2.3xlarge (kept by Difflet as a Python literal), and the table
// of an inf2.xlarge pasted in an issue.

const GiB = 1024 ** 3;
const realPath = (name: string): string => fileURLToPath(new URL(`./fixtures/real/${name}`, import.meta.url));
const FAKE_LS = fileURLToPath(new URL('./fixtures/fake-neuron-ls.mjs', import.meta.url));

/** runNeuronLs on the fake tool printing `name`'s bytes unchanged. */
const runOnCapture = (name: string) =>
  runNeuronLs(FAKE_LS, {
    timeoutMs: 10_000,
    env: { FAKE_NEURON_LS_MODE: 'verbatim', FAKE_NEURON_LS_FIXTURE: realPath(name) },
  });

beforeAll(async () => {
  await chmod(FAKE_LS, 0o755); // in case a checkout lost the executable bit
});

describe('neuron-ls output captured on real machines', () => {
  it('reads the trn1.2xlarge JSON as the tool printed it: one device, two cores, no NeuronLink peers', async () => {
    expect(await runOnCapture('neuron-ls-json_trn1-2xlarge_all-smi.txt')).toEqual([
      {
        index: 0,
        bdf: '0000:00:1e.0',
        memoryBytes: 32 * GiB,
        neuroncoreCount: 2,
        neuroncoreIds: [0, 1],
        connectedTo: [], // `"connected_to": null`
      },
    ]);
  });

  it('reads the trn2.3xlarge JSON of newer tools, with instance fields and four logical cores under LNC=2', async () => {
    const json = parsePythonLiteral(await readFile(realPath('neuron-ls-json_trn2-3xlarge_difflet.py.txt'), 'utf8'));
    expect(parseNeuronLs(json)).toEqual([
      {
        index: 0,
        bdf: '0000:33:00.0',
        memoryBytes: 96 * GiB,
        neuroncoreCount: 4, // `"logical_neuroncore_config": 2`: 8 physical cores seen as 4
        neuroncoreIds: [0, 1, 2, 3],
        connectedTo: [],
      },
    ]);
  });

  it('refuses the inf2.xlarge table (what neuron-ls prints without --json-output) with PROBE_OUTPUT', async () => {
    const outcome = await runOnCapture('neuron-ls-wide_inf2-xlarge_aws-neuron-sdk-1338.txt').then(
      () => 'resolved',
      (err: unknown) => err,
    );
    expect(outcome).toBeInstanceOf(ProbeError);
    expect(outcome).toMatchObject({
      code: 'PROBE_OUTPUT',
      message: `${FAKE_LS} --json-output printed something that is not JSON`,
    });
  });
});
