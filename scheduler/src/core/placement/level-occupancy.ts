/** Saturated nodes are filed by backlog class: 0, 1, 2–3, 4–7, … (class k > 0 holds 2^(k−1) … 2^k − 1). */
export const BACKLOG_CLASSES = 22;

/** The backlog class of a saturated node's prefill backlog (capped into the last class). */
export function backlogClassOf(backlog: number): number {
  if (!(backlog > 0)) return 0;
  if (backlog >= 1 << (BACKLOG_CLASSES - 2)) return BACKLOG_CLASSES - 1;
  return 32 - Math.clz32(backlog);
}

/** The least backlog a node of class `k` can have. */
export function backlogClassFloor(k: number): number {
  return k === 0 ? 0 : 1 << (k - 1);
}

/**
 * How many nodes sit at each load level 0 … levels − 1 (nodes with a free batch slot), with a bitmap
 * of occupied levels so that the lowest and highest occupied level in a range are found a word at a
 * time; and how many saturated nodes (full batch) sit in each backlog class. O(1) to update.
 */
export class LevelOccupancy {
  private readonly counts: Int32Array;
  private readonly bits: Uint32Array;
  private readonly saturatedCounts = new Int32Array(BACKLOG_CLASSES);
  /** Bit k set: some saturated node is in backlog class k. */
  saturatedMask = 0;
  /** Nodes counted, saturated ones included. */
  size = 0;

  constructor(readonly levels: number) {
    this.counts = new Int32Array(Math.max(1, levels));
    this.bits = new Uint32Array(Math.ceil(Math.max(1, levels) / 32));
  }

  add(level: number): void {
    if (this.counts[level]!++ === 0) this.bits[level >>> 5]! |= 1 << (level & 31);
    this.size++;
  }

  remove(level: number): void {
    if (--this.counts[level]! === 0) this.bits[level >>> 5]! &= ~(1 << (level & 31));
    this.size--;
  }

  addSaturated(backlogClass: number): void {
    if (this.saturatedCounts[backlogClass]!++ === 0) this.saturatedMask |= 1 << backlogClass;
    this.size++;
  }

  removeSaturated(backlogClass: number): void {
    if (--this.saturatedCounts[backlogClass]! === 0) this.saturatedMask &= ~(1 << backlogClass);
    this.size--;
  }

  /** Whether some node sits at `level`. */
  has(level: number): boolean {
    return ((this.bits[level >>> 5] ?? 0) & (1 << (level & 31))) !== 0;
  }

  /** Whether some saturated node is in backlog class `k`. */
  hasSaturated(k: number): boolean {
    return (this.saturatedMask & (1 << k)) !== 0;
  }

  /** The lowest occupied level ≥ `from`, or −1. */
  nextLevel(from: number): number {
    const bits = this.bits;
    let word = from >>> 5;
    if (from < 0 || word >= bits.length) return -1;
    let set = bits[word]! & (~0 << (from & 31));
    for (;;) {
      if (set !== 0) return (word << 5) + (31 - Math.clz32(set & -set));
      if (++word >= bits.length) return -1;
      set = bits[word]!;
    }
  }

  /** The highest occupied level ≤ `from`, or −1. */
  prevLevel(from: number): number {
    if (from < 0) return -1;
    const bits = this.bits;
    let word = Math.min(from >>> 5, bits.length - 1);
    // Bits 0 … (from & 31) of the first word; the whole word when `from` lies beyond it.
    let set = word === from >>> 5 ? bits[word]! & ((2 << (from & 31)) - 1) : bits[word]!;
    for (;;) {
      if (set !== 0) return (word << 5) + (31 - Math.clz32(set));
      if (--word < 0) return -1;
      set = bits[word]!;
    }
  }

  /** The lowest backlog class holding a saturated node, or −1. */
  lowestSaturatedClass(): number {
    const mask = this.saturatedMask;
    return mask === 0 ? -1 : 31 - Math.clz32(mask & -mask);
  }

  /** The lowest backlog class above `k` holding a saturated node, or −1. */
  nextSaturatedClass(k: number): number {
    const mask = k >= 31 ? 0 : this.saturatedMask & (~0 << (k + 1));
    return mask === 0 ? -1 : 31 - Math.clz32(mask & -mask);
  }
}

/** Nodes are classed by free HBM: class 0 below 1 GiB, class c ≥ 1 from 2^(c−1) GiB (the last class open-ended). */
export const MEMORY_CLASSES = 10;

const GIB = 2 ** 30;

/** The free-HBM class of `freeBytes` (monotone: more free memory, never a lower class). */
export function memoryClassOf(freeBytes: number): number {
  if (!(freeBytes >= GIB)) return 0;
  if (freeBytes >= GIB * 2 ** (MEMORY_CLASSES - 2)) return MEMORY_CLASSES - 1;
  return 32 - Math.clz32(Math.floor(freeBytes / GIB));
}

/**
 * A LevelOccupancy split by free-HBM class, answering the same questions for the nodes of class
 * `minClass` or above only: every node with at least the free memory a request needs is in its
 * class or above, so ranges where no node could fit are skipped whole. Queries OR the classes'
 * bitmaps a word at a time.
 */
export class ClassedOccupancy {
  private readonly counts: Int32Array;
  private readonly bits: Uint32Array;
  /** Levels holding a node of any class, so that the common query (class 0 and above) reads one bitmap. */
  private readonly any: LevelOccupancy;
  private readonly words: number;
  private readonly saturatedCounts = new Int32Array(MEMORY_CLASSES * BACKLOG_CLASSES);
  private readonly saturatedMasks = new Int32Array(MEMORY_CLASSES);
  /** Nodes counted, per class. */
  private readonly classSizes = new Int32Array(MEMORY_CLASSES);
  size = 0;

  constructor(readonly levels: number) {
    const width = Math.max(1, levels);
    this.words = Math.ceil(width / 32);
    this.counts = new Int32Array(MEMORY_CLASSES * width);
    this.bits = new Uint32Array(MEMORY_CLASSES * this.words);
    this.any = new LevelOccupancy(levels);
  }

  add(level: number, memoryClass: number): void {
    if (this.counts[memoryClass * this.levels + level]!++ === 0) {
      this.bits[memoryClass * this.words + (level >>> 5)]! |= 1 << (level & 31);
    }
    this.any.add(level);
    this.classSizes[memoryClass]!++;
    this.size++;
  }

  remove(level: number, memoryClass: number): void {
    if (--this.counts[memoryClass * this.levels + level]! === 0) {
      this.bits[memoryClass * this.words + (level >>> 5)]! &= ~(1 << (level & 31));
    }
    this.any.remove(level);
    this.classSizes[memoryClass]!--;
    this.size--;
  }

  addSaturated(backlogClass: number, memoryClass: number): void {
    if (this.saturatedCounts[memoryClass * BACKLOG_CLASSES + backlogClass]!++ === 0) {
      this.saturatedMasks[memoryClass]! |= 1 << backlogClass;
    }
    this.any.addSaturated(backlogClass);
    this.classSizes[memoryClass]!++;
    this.size++;
  }

  removeSaturated(backlogClass: number, memoryClass: number): void {
    if (--this.saturatedCounts[memoryClass * BACKLOG_CLASSES + backlogClass]! === 0) {
      this.saturatedMasks[memoryClass]! &= ~(1 << backlogClass);
    }
    this.any.removeSaturated(backlogClass);
    this.classSizes[memoryClass]!--;
    this.size--;
  }

  /** Nodes of class `minClass` or above. */
  sizeFrom(minClass: number): number {
    let size = 0;
    for (let c = minClass; c < MEMORY_CLASSES; c++) size += this.classSizes[c]!;
    return size;
  }

  private word(word: number, minClass: number): number {
    let set = 0;
    for (let c = minClass; c < MEMORY_CLASSES; c++) set |= this.bits[c * this.words + word]!;
    return set;
  }

  /** The lowest level ≥ `from` holding a node of class `minClass` or above, or −1. */
  nextLevel(from: number, minClass: number): number {
    if (minClass === 0) return this.any.nextLevel(from);
    let word = from >>> 5;
    if (from < 0 || word >= this.words) return -1;
    let set = this.word(word, minClass) & (~0 << (from & 31));
    for (;;) {
      if (set !== 0) return (word << 5) + (31 - Math.clz32(set & -set));
      if (++word >= this.words) return -1;
      set = this.word(word, minClass);
    }
  }

  /** The highest level ≤ `from` holding a node of class `minClass` or above, or −1. */
  prevLevel(from: number, minClass: number): number {
    if (minClass === 0) return this.any.prevLevel(from);
    if (from < 0) return -1;
    let word = Math.min(from >>> 5, this.words - 1);
    let set = this.word(word, minClass);
    if (word === from >>> 5) set &= (2 << (from & 31)) - 1;
    for (;;) {
      if (set !== 0) return (word << 5) + (31 - Math.clz32(set));
      if (--word < 0) return -1;
      set = this.word(word, minClass);
    }
  }

  private saturatedMask(minClass: number): number {
    if (minClass === 0) return this.any.saturatedMask;
    let mask = 0;
    for (let c = minClass; c < MEMORY_CLASSES; c++) mask |= this.saturatedMasks[c]!;
    return mask;
  }

  /** The lowest backlog class holding a saturated node of class `minClass` or above, or −1. */
  lowestSaturatedClass(minClass: number): number {
    const mask = this.saturatedMask(minClass);
    return mask === 0 ? -1 : 31 - Math.clz32(mask & -mask);
  }

  /** The lowest backlog class above `k` holding a saturated node of class `minClass` or above, or −1. */
  nextSaturatedClass(k: number, minClass: number): number {
    const mask = k >= 31 ? 0 : this.saturatedMask(minClass) & (~0 << (k + 1));
    return mask === 0 ? -1 : 31 - Math.clz32(mask & -mask);
  }
}
