/**
 * The design space of an exploration: the axes (each a list of values), their cross product in a
 * fixed order, and the hardware of the point at a given index of it. An index range of the cross
 * product is what a sweep chunk (sim/sweep.ts evaluateChunk, a BullMQ job of sim/queue.ts) evaluates.
 *
 * Axis values on the command line are a list (`8,16,32`), a range of powers of two (`8..256`: 8, 16,
 * ..., 256), a stepped range (`500..1500:250`) or a mix of them (`8..64,96`); arrays are RxC, and
 * `8x8..256x256` is every power-of-two rows in [8, 256] times every power-of-two cols in [8, 256].
 */
import { DATAFLOWS, type Dataflow, type HardwareConfig } from './config.js';
import { SIM_VARIANTS, type SimVariantId } from './variants.js';
import { listTechNodes } from './tech.js';
import { UsageError } from '../formats/errors.js';

export interface ExploreAxes {
  /** Technology nodes (tables in fixtures/tech). */
  nodes: string[];
  /** Array shapes [rows, cols]. */
  arrays: [number, number][];
  dataflows: Dataflow[];
  /** Size of each activation buffer (ifmap and ofmap), KB. */
  bufferKB: number[];
  /** ROM banks. */
  romBanks: number[];
  /** Bias SRAM banks. */
  sramBanks: number[];
  clockMHz: number[];
  variants: SimVariantId[];
}

/** The axes in the order of the cross product (the last varies fastest), with their CSV column names. */
export const AXIS_ORDER = ['nodes', 'arrays', 'dataflows', 'bufferKB', 'romBanks', 'sramBanks', 'clockMHz', 'variants'] as const;
export type AxisName = (typeof AXIS_ORDER)[number];

/** Points in the cross product. */
export function countPoints(a: ExploreAxes): number {
  return AXIS_ORDER.reduce((n, k) => n * a[k].length, 1);
}

/** One point of the space: its axis values. */
export interface SpacePoint {
  node: string;
  rows: number;
  cols: number;
  dataflow: Dataflow;
  bufferKB: number;
  romBanks: number;
  sramBanks: number;
  clockMHz: number;
  variant: SimVariantId;
}

/** The point at `index` of the cross product (mixed radix, the last axis fastest). */
export function pointAt(a: ExploreAxes, index: number): SpacePoint {
  const pick: number[] = new Array(AXIS_ORDER.length);
  let rest = index;
  for (let i = AXIS_ORDER.length - 1; i >= 0; i--) {
    const n = a[AXIS_ORDER[i]].length;
    pick[i] = rest % n;
    rest = Math.floor(rest / n);
  }
  const [rows, cols] = a.arrays[pick[1]];
  return {
    node: a.nodes[pick[0]],
    rows,
    cols,
    dataflow: a.dataflows[pick[2]],
    bufferKB: a.bufferKB[pick[3]],
    romBanks: a.romBanks[pick[4]],
    sramBanks: a.sramBanks[pick[5]],
    clockMHz: a.clockMHz[pick[6]],
    variant: a.variants[pick[7]],
  };
}

/** The base hardware with a point's axis values. */
export function hardwareAt(base: HardwareConfig, p: SpacePoint): HardwareConfig {
  return {
    ...base,
    technology: p.node,
    clockMHz: p.clockMHz,
    array: { rows: p.rows, cols: p.cols, dataflow: p.dataflow },
    rom: { ...base.rom, banks: p.romBanks },
    biasSram: { ...base.biasSram, banks: p.sramBanks },
    buffers: { ...base.buffers, ifmapKB: p.bufferKB, ofmapKB: p.bufferKB },
  };
}

/** The axes of one point: the base hardware's own values (and the given variants). */
export function baseAxes(hw: HardwareConfig, variants: SimVariantId[]): ExploreAxes {
  return {
    nodes: [hw.technology],
    arrays: [[hw.array.rows, hw.array.cols]],
    dataflows: [hw.array.dataflow],
    bufferKB: [hw.buffers.ifmapKB],
    romBanks: [hw.rom.banks],
    sramBanks: [hw.biasSram.banks],
    clockMHz: [hw.clockMHz],
    variants,
  };
}

export interface NumberAxisRule {
  integer: boolean;
  min: number;
  max: number;
}

const MAX_VALUES = 10_000;

/** Values of a numeric axis flag: "8,16", "8..256" (powers of two from 8), "500..1500:250" (steps), mixed. */
export function parseNumberAxis(flag: string, text: string, rule: NumberAxisRule): number[] {
  const allowed =
    `a comma-separated list of ${rule.integer ? 'integers' : 'numbers'} in [${rule.min}, ${rule.max}], ` +
    'or ranges LO..HI (LO, 2 LO, 4 LO, ... up to HI) and LO..HI:STEP';
  const num = (s: string): number => {
    const x = s.trim() === '' ? NaN : Number(s);
    if (!Number.isFinite(x) || (rule.integer && !Number.isInteger(x)) || x < rule.min || x > rule.max)
      throw new UsageError(flag, `${JSON.stringify(s)} is not a valid value`, { value: text, allowed });
    return x;
  };
  const out: number[] = [];
  for (const part of text.split(',')) {
    const m = /^([^.:]+)\.\.([^.:]+)(?::(.+))?$/.exec(part.trim());
    if (!m) {
      out.push(num(part));
      continue;
    }
    const lo = num(m[1]);
    const hi = num(m[2]);
    if (hi < lo) throw new UsageError(flag, `range ${JSON.stringify(part)} ends below its start`, { value: text, allowed });
    if (m[3] === undefined) {
      if (lo <= 0) throw new UsageError(flag, `range ${JSON.stringify(part)} doubles from ${lo}, which must be above 0`, { value: text, allowed });
      for (let x = lo; x <= hi * (1 + 1e-12); x *= 2) out.push(x);
    } else {
      const step = Number(m[3]);
      if (!Number.isFinite(step) || step <= 0 || (rule.integer && !Number.isInteger(step)))
        throw new UsageError(flag, `step ${JSON.stringify(m[3])} must be a positive ${rule.integer ? 'integer' : 'number'}`, { value: text, allowed });
      const n = Math.floor((hi - lo) / step + 1e-9);
      if (n >= MAX_VALUES) throw new UsageError(flag, `range ${JSON.stringify(part)} has ${n + 1} values, more than ${MAX_VALUES}`, { value: text });
      for (let i = 0; i <= n; i++) out.push(rule.integer ? lo + i * step : Number((lo + i * step).toPrecision(12)));
    }
    if (out.length > MAX_VALUES) throw new UsageError(flag, `more than ${MAX_VALUES} values`, { value: text });
  }
  return unique(flag, text, out);
}

function unique<T>(flag: string, text: string, xs: T[]): T[] {
  const seen = new Set<string>();
  for (const x of xs) {
    const k = JSON.stringify(x);
    if (seen.has(k)) throw new UsageError(flag, `${k} appears twice (two points would be the same)`, { value: text });
    seen.add(k);
  }
  return xs;
}

const ARRAY_RULE: NumberAxisRule = { integer: true, min: 1, max: 1 << 14 };

/** Array shapes: "128x128", "8x8..256x256" (power-of-two rows times power-of-two cols), comma-separated. */
export function parseArrayAxis(flag: string, text: string): [number, number][] {
  const allowed = 'RxC shapes, comma-separated, e.g. 128x128 or 8x8..256x256 (powers of two in rows and in cols)';
  const out: [number, number][] = [];
  for (const part of text.split(',')) {
    const s = part.trim();
    const range = /^(\d+)x(\d+)\.\.(\d+)x(\d+)$/.exec(s);
    const one = /^(\d+)x(\d+)$/.exec(s);
    if (range) {
      const rows = parseNumberAxis(flag, `${range[1]}..${range[3]}`, ARRAY_RULE);
      const cols = parseNumberAxis(flag, `${range[2]}..${range[4]}`, ARRAY_RULE);
      for (const r of rows) for (const c of cols) out.push([r, c]);
    } else if (one) {
      const [r] = parseNumberAxis(flag, one[1], ARRAY_RULE);
      const [c] = parseNumberAxis(flag, one[2], ARRAY_RULE);
      out.push([r, c]);
    } else throw new UsageError(flag, `${JSON.stringify(s)} is not an array shape`, { value: text, allowed });
  }
  return unique(flag, text, out);
}

/** A list of names, each one of `allowed`. */
export function parseChoiceAxis<T extends string>(flag: string, text: string, allowed: readonly T[]): T[] {
  const out = text.split(',').map((s) => s.trim());
  for (const s of out)
    if (!(allowed as readonly string[]).includes(s))
      throw new UsageError(flag, `${JSON.stringify(s)} is not a known value`, { value: text, allowed: allowed.join(', ') });
  return unique(flag, text, out as T[]);
}

export const parseDataflowAxis = (flag: string, text: string): Dataflow[] => parseChoiceAxis(flag, text, DATAFLOWS);
export const parseTechAxis = (flag: string, text: string): string[] => parseChoiceAxis(flag, text, listTechNodes());
export const parseVariantAxis = (flag: string, text: string): SimVariantId[] => parseChoiceAxis(flag, text, SIM_VARIANTS);
