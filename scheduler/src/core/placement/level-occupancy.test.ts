import { createRng } from '@switchyard/fleet-model';
import { describe, expect, it } from 'vitest';
import {
  BACKLOG_CLASSES,
  backlogClassFloor,
  backlogClassOf,
  ClassedOccupancy,
  LevelOccupancy,
  MEMORY_CLASSES,
  memoryClassOf,
} from './level-occupancy.js';

const GIB = 2 ** 30;

describe('backlog and memory classes', () => {
  it.each<[number, number]>([
    [0, 0],
    [1, 1],
    [2, 2],
    [3, 2],
    [4, 3],
    [1023, 10],
    [1024, 11],
    [2 ** 20, BACKLOG_CLASSES - 1],
    [2 ** 30, BACKLOG_CLASSES - 1],
  ])('backlog %i is in class %i', (backlog, k) => {
    expect(backlogClassOf(backlog)).toBe(k);
    expect(backlogClassFloor(k)).toBeLessThanOrEqual(backlog);
  });

  it.each<[number, number]>([
    [-5, 0],
    [0, 0],
    [GIB - 1, 0],
    [GIB, 1],
    [2 * GIB - 1, 1],
    [2 * GIB, 2],
    [100 * GIB, 7],
    [256 * GIB, MEMORY_CLASSES - 1],
    [1e15, MEMORY_CLASSES - 1],
  ])('%d free bytes are in memory class %i', (bytes, c) => {
    expect(memoryClassOf(bytes)).toBe(c);
  });

  it('never puts more free memory in a lower class', () => {
    const rng = createRng(3);
    for (let i = 0; i < 2000; i++) {
      const a = rng() * 600 * GIB;
      const b = a + rng() * 100 * GIB;
      expect(memoryClassOf(b)).toBeGreaterThanOrEqual(memoryClassOf(a));
    }
  });
});

/** The occupied levels and saturated classes, kept naively beside the structures under test. */
class Model {
  readonly counts = new Map<string, number>();
  add(key: string, delta: number): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + delta);
  }
  levels(minClass: number, levels: number): number[] {
    const out: number[] = [];
    for (let level = 0; level < levels; level++) {
      let n = 0;
      for (let c = minClass; c < MEMORY_CLASSES; c++) n += this.counts.get(`${level}/${c}`) ?? 0;
      if (n > 0) out.push(level);
    }
    return out;
  }
  saturated(minClass: number): number[] {
    const out: number[] = [];
    for (let k = 0; k < BACKLOG_CLASSES; k++) {
      let n = 0;
      for (let c = minClass; c < MEMORY_CLASSES; c++) n += this.counts.get(`s${k}/${c}`) ?? 0;
      if (n > 0) out.push(k);
    }
    return out;
  }
}

describe('LevelOccupancy and ClassedOccupancy', () => {
  it.each([1, 31, 32, 33, 100, 2048])(
    'answer like a naive recount through random adds and removes (%i levels)',
    (levels) => {
      const rng = createRng(levels);
      const plain = new LevelOccupancy(levels);
      const classed = new ClassedOccupancy(levels);
      const model = new Model();
      const present: [number, number, boolean][] = [];
      for (let step = 0; step < 3000; step++) {
        if (present.length > 0 && rng() < 0.45) {
          const [item] = present.splice(Math.floor(rng() * present.length), 1);
          const [where, c, saturated] = item!;
          if (saturated) {
            plain.removeSaturated(where);
            classed.removeSaturated(where, c);
            model.add(`s${where}/${c}`, -1);
          } else {
            plain.remove(where);
            classed.remove(where, c);
            model.add(`${where}/${c}`, -1);
          }
        } else {
          const saturated = rng() < 0.2;
          // Clustered levels, as loads are, so that words fill and empty.
          const where = saturated ? Math.floor(rng() * BACKLOG_CLASSES) : Math.floor(rng() ** 2 * levels);
          const c = Math.floor(rng() * MEMORY_CLASSES);
          present.push([where, c, saturated]);
          if (saturated) {
            plain.addSaturated(where);
            classed.addSaturated(where, c);
            model.add(`s${where}/${c}`, 1);
          } else {
            plain.add(where);
            classed.add(where, c);
            model.add(`${where}/${c}`, 1);
          }
        }
        if (step % 50 !== 0) continue;
        expect(plain.size).toBe(present.length);
        expect(classed.size).toBe(present.length);
        for (const minClass of [0, 1, 4, MEMORY_CLASSES - 1]) {
          const expected = model.levels(minClass, levels);
          const from = Math.floor(rng() * levels);
          const next = expected.find((l) => l >= from) ?? -1;
          const prev = expected.filter((l) => l <= from).pop() ?? -1;
          expect(classed.nextLevel(from, minClass)).toBe(next);
          expect(classed.prevLevel(from, minClass)).toBe(prev);
          expect(classed.prevLevel(levels + 40, minClass)).toBe(expected.at(-1) ?? -1);
          expect(classed.sizeFrom(minClass)).toBe(present.filter(([, c]) => c >= minClass).length);
          const saturatedClasses = model.saturated(minClass);
          expect(classed.lowestSaturatedClass(minClass)).toBe(saturatedClasses[0] ?? -1);
          expect(classed.nextSaturatedClass(saturatedClasses[0] ?? 0, minClass)).toBe(
            saturatedClasses.find((k) => k > (saturatedClasses[0] ?? 0)) ?? -1,
          );
          if (minClass !== 0) continue;
          // The plain occupancy counts every class: it must answer like the classed one from class 0.
          expect({
            next: plain.nextLevel(from),
            prev: plain.prevLevel(from),
            has: plain.has(from),
            lowestSaturated: plain.lowestSaturatedClass(),
            hasSaturated: [0, 5, BACKLOG_CLASSES - 1].map((k) => plain.hasSaturated(k)),
          }).toEqual({
            next,
            prev,
            has: expected.includes(from),
            lowestSaturated: saturatedClasses[0] ?? -1,
            hasSaturated: [0, 5, BACKLOG_CLASSES - 1].map((k) => saturatedClasses.includes(k)),
          });
        }
      }
    },
  );

  it('answers −1 beyond its levels and for negative starts', () => {
    const occupancy = new LevelOccupancy(40);
    occupancy.add(39);
    expect(occupancy.nextLevel(40)).toBe(-1);
    expect(occupancy.nextLevel(-1)).toBe(-1);
    expect(occupancy.prevLevel(-1)).toBe(-1);
    expect(occupancy.prevLevel(1000)).toBe(39);
    expect(occupancy.nextSaturatedClass(31)).toBe(-1);
  });
});
