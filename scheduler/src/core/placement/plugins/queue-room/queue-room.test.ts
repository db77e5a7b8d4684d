import { describe, expect, it } from 'vitest';
import { addReservations, candidate, nodeRecord, placementRequest } from '../../../test-fixtures.js';
import { queueRoomFilter } from './queue-room.js';

const BATCH = 64;

describe('queue-room filter', () => {
  it.each<{ queueFactor?: number; queueDepth: number; inFlight: number; reservations?: number; admits: boolean }>([
    { queueDepth: 0, inFlight: 0, admits: true },
    { queueDepth: 4 * BATCH - 1, inFlight: BATCH, admits: true }, // load 5B − 1 < 5B
    { queueDepth: 4 * BATCH, inFlight: BATCH, admits: false }, // load 5B
    { queueDepth: 0, inFlight: 0, reservations: 5 * BATCH - 1, admits: true },
    { queueDepth: 0, inFlight: 0, reservations: 5 * BATCH, admits: false }, // our placements count before the report shows them
    { queueDepth: 10, inFlight: BATCH, reservations: 5 * BATCH, admits: false },
    { queueFactor: 0, queueDepth: 0, inFlight: BATCH - 1, admits: true },
    { queueFactor: 0, queueDepth: 0, inFlight: BATCH, admits: false },
    { queueFactor: 0.5, queueDepth: BATCH / 2 - 1, inFlight: BATCH, admits: true },
    { queueFactor: 0.5, queueDepth: BATCH / 2, inFlight: BATCH, admits: false },
  ])(
    'factor $queueFactor, queue $queueDepth, in flight $inFlight, reserved $reservations → $admits',
    ({ queueFactor, queueDepth, inFlight, reservations, admits }) => {
      const filter = queueRoomFilter(queueFactor === undefined ? {} : { queueFactor });
      const node = nodeRecord({ profile: 'trn1', maxBatchSize: BATCH, queueDepth, inFlight });
      if (reservations !== undefined) addReservations(node, reservations);
      const request = placementRequest();
      expect(filter.admits(request, candidate(node, request))).toBe(admits);
    },
  );

  it.each([-1, Number.NaN])('refuses queueFactor %d', (queueFactor) => {
    expect(() => queueRoomFilter({ queueFactor })).toThrow(RangeError);
  });

  it('rejects with NO_CAPACITY', () => {
    expect(queueRoomFilter()).toMatchObject({ name: 'queue-room', rejectionCode: 'NO_CAPACITY' });
  });
});
