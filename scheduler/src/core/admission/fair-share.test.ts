import { describe, expect, it } from 'vitest';
import { FairShare, queuePriority } from './fair-share.js';

const weights =
  (table: Record<string, number>) =>
  (tenant: string): number =>
    table[tenant] ?? 1;

/** Serves `slots` requests in tag order from the backlog (as p-queue would with priority = −tag) and counts per tenant. */
function serve(fair: FairShare, backlog: { tenant: string; tag: number }[], slots: number): Record<string, number> {
  const served: Record<string, number> = {};
  backlog.sort((a, b) => queuePriority(b.tag) - queuePriority(a.tag));
  for (const { tenant, tag } of backlog.splice(0, slots)) {
    fair.served(tenant, tag);
    served[tenant] = (served[tenant] ?? 0) + 1;
  }
  return served;
}

describe('FairShare: shares under contention', () => {
  it.each<{
    name: string;
    weights: Record<string, number>;
    sent: Record<string, number>;
    slots: number;
    want: Record<string, number>;
  }>([
    { name: 'equal weights split evenly', weights: {}, sent: { a: 50, b: 50 }, slots: 40, want: { a: 20, b: 20 } },
    {
      name: '3:1 weights get 3:1 of the slots',
      weights: { a: 3, b: 1 },
      sent: { a: 100, b: 100 },
      slots: 40,
      want: { a: 30, b: 10 },
    },
    {
      name: 'three tenants 2:1:1',
      weights: { a: 2 },
      sent: { a: 100, b: 100, c: 100 },
      slots: 40,
      want: { a: 20, b: 10, c: 10 },
    },
    {
      name: 'a light tenant gets all it asks for',
      weights: {},
      sent: { a: 100, b: 3 },
      slots: 20,
      want: { a: 17, b: 3 },
    },
    {
      name: 'a flood cannot starve a small weight',
      weights: { a: 10, b: 1 },
      sent: { a: 1000, b: 10 },
      slots: 110,
      want: { a: 100, b: 10 },
    },
  ])('$name', ({ weights: table, sent, slots, want }) => {
    const fair = new FairShare(weights(table));
    const backlog: { tenant: string; tag: number }[] = [];
    // Interleave arrivals as they would come in: one from each tenant in turn.
    const remaining = { ...sent };
    while (Object.values(remaining).some((n) => n > 0)) {
      for (const tenant of Object.keys(remaining)) {
        if ((remaining[tenant] ?? 0) === 0) continue;
        remaining[tenant]!--;
        backlog.push({ tenant, tag: fair.enqueue(tenant) });
      }
    }
    expect(serve(fair, backlog, slots)).toEqual(want);
    expect(fair.waiting).toBe(Object.values(sent).reduce((s, n) => s + n, 0) - slots);
  });

  it('puts a newcomer ahead of the tail of a tenant that flooded first', () => {
    const fair = new FairShare(weights({}));
    const flood = Array.from({ length: 1000 }, () => fair.enqueue('flood'));
    const newcomer = fair.peek('late');
    // Only the flood's first request (equal tag, earlier arrival) is served before it.
    expect(fair.ahead(newcomer)).toBe(1);
    expect(fair.enqueue('late')).toBe(newcomer);
    expect(flood.filter((tag) => tag < newcomer)).toHaveLength(0);
  });

  it('starts a tenant that was idle at the virtual time, not at its old tags', () => {
    const fair = new FairShare(weights({}));
    const tags = Array.from({ length: 5 }, () => fair.enqueue('b'));
    tags.forEach((tag) => fair.served('b', tag));
    expect(fair.now).toBe(5);
    expect(fair.peek('a')).toBe(6);
    expect(fair.enqueue('a')).toBe(6);
  });

  it('forgets withdrawn requests once a tenant has nothing waiting', () => {
    const fair = new FairShare(weights({}));
    fair.enqueue('a');
    fair.enqueue('a');
    fair.withdrawn('a');
    fair.withdrawn('a');
    expect(fair.waiting).toBe(0);
    expect(fair.peek('a')).toBe(1);
  });

  it('ignores withdrawals of tenants with nothing waiting', () => {
    const fair = new FairShare(weights({}));
    fair.withdrawn('ghost');
    fair.served('ghost', 3);
    expect(fair.waiting).toBe(0);
    expect(fair.now).toBe(3);
  });
});

describe('FairShare.ahead', () => {
  it.each<{
    name: string;
    sent: [tenant: string, count: number][];
    weights: Record<string, number>;
    tenant: string;
    want: number;
  }>([
    { name: 'empty queue', sent: [], weights: {}, tenant: 'a', want: 0 },
    { name: 'own backlog only', sent: [['a', 4]], weights: {}, tenant: 'a', want: 4 },
    {
      name: 'another tenant flooding counts only up to the newcomer',
      sent: [['b', 100]],
      weights: {},
      tenant: 'a',
      want: 1,
    },
    {
      name: 'two backlogs of equal weight',
      sent: [
        ['a', 3],
        ['b', 10],
      ],
      weights: {},
      tenant: 'a',
      want: 7,
    },
    { name: 'heavier tenant behind a lighter flood', sent: [['b', 100]], weights: { a: 4 }, tenant: 'a', want: 0 },
    { name: 'lighter tenant behind a heavier flood', sent: [['b', 100]], weights: { b: 4 }, tenant: 'a', want: 4 },
  ])('$name → $want', ({ sent, weights: table, tenant, want }) => {
    const fair = new FairShare(weights(table));
    for (const [name, count] of sent) for (let i = 0; i < count; i++) fair.enqueue(name);
    expect(fair.ahead(fair.peek(tenant))).toBe(want);
  });

  it('agrees with a count over the actual tags', () => {
    const fair = new FairShare(weights({ a: 3, b: 0.5 }));
    const tags: number[] = [];
    for (let i = 0; i < 30; i++) for (const tenant of ['a', 'b', 'c']) tags.push(fair.enqueue(tenant));
    for (const probe of ['a', 'b', 'c', 'd']) {
      const tag = fair.peek(probe);
      expect(fair.ahead(tag)).toBe(tags.filter((t) => t <= tag + 1e-9).length);
    }
  });
});

describe('queuePriority', () => {
  it('serves the smallest tag first under p-queue’s highest-priority-first rule', () => {
    expect(queuePriority(1)).toBeGreaterThan(queuePriority(2));
  });
});
