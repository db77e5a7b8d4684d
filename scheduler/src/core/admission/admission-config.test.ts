import { describe, expect, it } from 'vitest';
import {
  type AdmissionConfigInput,
  AdmissionConfigError,
  DEFAULT_ADMISSION_CONFIG,
  resolveAdmissionConfig,
} from './admission-config.js';

describe('resolveAdmissionConfig', () => {
  it('gives the defaults for an empty section', () => {
    expect(resolveAdmissionConfig()).toEqual(DEFAULT_ADMISSION_CONFIG);
    expect(resolveAdmissionConfig({})).toEqual(DEFAULT_ADMISSION_CONFIG);
  });

  it('merges what is given over the defaults, class by class', () => {
    const config = resolveAdmissionConfig({
      classes: { batch: { concurrency: 8 } },
      tenantWeights: { acme: 3 },
      minRetryIntervalMs: 0,
    });
    expect(config.classes.batch).toEqual({ ...DEFAULT_ADMISSION_CONFIG.classes.batch, concurrency: 8 });
    expect(config.classes.interactive).toEqual(DEFAULT_ADMISSION_CONFIG.classes.interactive);
    expect(config.tenantWeights).toEqual({ acme: 3 });
    expect(config.minRetryIntervalMs).toBe(0);
  });

  it.each<[name: string, input: AdmissionConfigInput, problem: RegExp]>([
    ['zero concurrency', { classes: { interactive: { concurrency: 0 } } }, /classes\.interactive\.concurrency/],
    ['fractional concurrency', { classes: { batch: { concurrency: 2.5 } } }, /classes\.batch\.concurrency/],
    ['negative queue', { classes: { standard: { maxQueued: -1 } } }, /classes\.standard\.maxQueued/],
    ['unbounded queue', { classes: { standard: { maxQueued: Number.POSITIVE_INFINITY } } }, /maxQueued/],
    ['negative wait', { classes: { batch: { maxWaitMs: -5 } } }, /classes\.batch\.maxWaitMs/],
    ['NaN wait', { classes: { batch: { maxWaitMs: Number.NaN } } }, /maxWaitMs/],
    [
      'an unknown class',
      { classes: { realtime: { concurrency: 1 } } } as unknown as AdmissionConfigInput,
      /classes\.realtime: unknown SLO class/,
    ],
    ['a zero tenant weight', { tenantWeights: { acme: 0 } }, /tenantWeights\.acme/],
    ['an infinite default weight', { defaultTenantWeight: Number.POSITIVE_INFINITY }, /defaultTenantWeight/],
    ['a zero half-life', { drainHalfLifeMs: 0 }, /drainHalfLifeMs/],
    [
      'hint bounds the wrong way round',
      { minRetryAfterMs: 5_000, maxRetryAfterMs: 100 },
      /minRetryAfterMs \(5000\) must not exceed/,
    ],
    ['a hint beyond a week', { maxRetryAfterMs: 8 * 24 * 3_600_000 }, /maxRetryAfterMs/],
  ])('refuses %s with a named error', (_name, input, problem) => {
    expect(() => resolveAdmissionConfig(input)).toThrow(AdmissionConfigError);
    expect(() => resolveAdmissionConfig(input)).toThrow(problem);
  });

  it('lists every problem at once', () => {
    const bad = { classes: { batch: { concurrency: -1, maxQueued: -1 } }, defaultTenantWeight: -1 };
    expect(() => resolveAdmissionConfig(bad)).toThrow(
      expect.objectContaining({
        name: 'AdmissionConfigError',
        message: expect.stringMatching(/^invalid admission config: [^;]+; [^;]+; [^;]+$/),
      }),
    );
  });
});
