#!/usr/bin/env -S npx tsx
/**
 * The banked memory model: one set of rules for every on-chip memory (ROM, weight SRAM, bias SRAM,
 * task storage, activation buffers). A memory of any capacity is built from banks (subarrays) of
 * at most `bankKB`; the banks sit in a square grid reached by an H-tree from the memory's port.
 *
 *   area   = banks x (cells + a decoder/sense strip along two bank edges) + H-tree wiring
 *   energy = bank access (periphery per output bit + bitline charge of every cell of the bank)
 *          + H-tree wire from the port to the farthest bank: (word + address bits) x wire pJ/bit/mm x distance
 *
 * Every term is a capacitance times Vdd^2: cell pitch, Vdd, wire capacitance and wire pitch come
 * from the technology table (CACTI 7's technology files at 65/45/32/22 nm), the four shape
 * constants (memPeripheryFFPerUm, memBitlineFFPerUm, wireRepeaterFactor, memPeripheryCells) are
 * assumed with ranges; a ROM differs only in its cell (romCellF2) and bitline load (romBitlineFactor).
 * docs/cost-model.md derives it; test/sim/memory.test.ts compares it with CACTI 7.
 *
 *   npx tsx sim/memory.ts --node 45nm --kind sram --capacity 4MiB --word-bits 256
 */
import { BANK_KB_RANGE } from './config.js';
import { loadTech, listTechNodes, TechModel } from './tech.js';
import { parseFlags, flagChoice, flagNumber } from '../formats/flags.js';
import { UsageError } from '../formats/errors.js';
import { isMain, runCli } from '../formats/cli.js';

export const MEMORY_KINDS = ['sram', 'rom'] as const;
export type MemoryKind = (typeof MEMORY_KINDS)[number];

export { BANK_KB_RANGE };

export interface MemorySpec {
  kind: MemoryKind;
  capacityBits: number;
  /** Bits per access (the port's width). */
  wordBits: number;
  /** Largest bank, KiB; default: the table's memBankKB. A memory smaller than a bank is one bank. */
  bankKB?: number;
}

export interface MemoryCost {
  kind: MemoryKind;
  capacityBytes: number;
  wordBits: number;
  banks: number;
  bankBytes: number;
  readEnergyPJ: number;
  writeEnergyPJ: number;
  readPJPerBit: number;
  writePJPerBit: number;
  areaMm2: number;
  /** Area by part (mm²). */
  area: { cells: number; periphery: number; wiring: number };
  /** Read energy by part (pJ). */
  energy: { bank: number; wire: number };
  /** H-tree distance from the port to the farthest bank (mm). */
  wireMm: number;
  /** Technology constants the figures rest on. */
  sources: string[];
}

const SOURCES = [
  'featureNm',
  'vddV',
  'sramCellF2',
  'wireCapFFPerUm',
  'wireRepeaterFactor',
  'wirePitchF',
  'memPeripheryFFPerUm',
  'memBitlineFFPerUm',
  'memPeripheryCells',
  'memBankKB',
  'sramWriteFactor',
];
const ROM_SOURCES = ['romCellF2', 'romBitlineFactor'];

/** Area and access energy of one memory. */
export function memoryCost(t: TechModel, spec: MemorySpec): MemoryCost {
  const { kind, wordBits } = spec;
  const capacityBits = Math.max(1, Math.ceil(spec.capacityBits));
  if (!Number.isInteger(wordBits) || wordBits < 1) throw new RangeError(`memoryCost: wordBits ${wordBits} must be a positive integer`);
  const bankKB = spec.bankKB ?? t.c('memBankKB');
  const featureUm = t.c('featureNm') / 1000;
  const vdd2 = t.c('vddV') ** 2;
  const sramCellUm2 = t.f('sramCellUm2');
  const cellUm2 = kind === 'rom' ? t.f('romCellUm2') : sramCellUm2;
  const sramPitchUm = Math.sqrt(sramCellUm2);
  const cellPitchUm = Math.sqrt(cellUm2);

  const bankBits = Math.min(capacityBits, Math.round(bankKB * 8192));
  const banks = Math.ceil(capacityBits / bankBits);
  const bankCellsUm2 = bankBits * cellUm2;
  // decoder and sense strip along two edges of a bank, its height in SRAM cell pitches
  const bankPeripheryUm2 = 2 * Math.sqrt(bankCellsUm2) * t.c('memPeripheryCells') * sramPitchUm;
  const bankUm2 = bankCellsUm2 + bankPeripheryUm2;
  const addrBits = Math.ceil(Math.log2(Math.max(2, capacityBits / wordBits)));
  const busBits = wordBits + addrBits;
  // H-tree over a square grid of banks: total route length about side x sqrt(banks)
  const gridSideUm = Math.sqrt(banks * bankUm2);
  const treeLenUm = banks > 1 ? gridSideUm * Math.sqrt(banks) : 0;
  const wiringUm2 = busBits * t.c('wirePitchF') * featureUm * treeLenUm;
  const totalUm2 = banks * bankUm2 + wiringUm2;
  const wireMm = Math.max(0, Math.sqrt(totalUm2) - Math.sqrt(bankUm2)) / 1000;

  const bitlineFactor = kind === 'rom' ? t.c('romBitlineFactor') : 1;
  const bankFJ = (wordBits * t.c('memPeripheryFFPerUm') * sramPitchUm + bankBits * t.c('memBitlineFFPerUm') * cellPitchUm * bitlineFactor) * vdd2;
  const bankPJ = bankFJ / 1000;
  const wirePJ = busBits * t.f('wirePJPerBitMm') * wireMm;
  const readEnergyPJ = bankPJ + wirePJ;
  const writeEnergyPJ = kind === 'rom' ? 0 : readEnergyPJ * t.c('sramWriteFactor');
  return {
    kind,
    capacityBytes: capacityBits / 8,
    wordBits,
    banks,
    bankBytes: bankBits / 8,
    readEnergyPJ,
    writeEnergyPJ,
    readPJPerBit: readEnergyPJ / wordBits,
    writePJPerBit: writeEnergyPJ / wordBits,
    areaMm2: totalUm2 * 1e-6,
    area: { cells: banks * bankCellsUm2 * 1e-6, periphery: banks * bankPeripheryUm2 * 1e-6, wiring: wiringUm2 * 1e-6 },
    energy: { bank: bankPJ, wire: wirePJ },
    wireMm,
    sources: [...SOURCES, ...(kind === 'rom' ? ROM_SOURCES : [])],
  };
}

/** "4MiB", "512KiB", "64KB" (= KiB), "1048576" bytes; a UsageError names the flag otherwise. */
export function parseCapacity(text: string | undefined, flag: string): number {
  const m = text === undefined ? null : /^(\d+(?:\.\d+)?)\s*(B|KiB|KB|K|MiB|MB|M|GiB|GB|G)?$/i.exec(text.trim());
  if (!m)
    throw new UsageError(flag, text === undefined ? 'is required' : 'is not a size', {
      ...(text === undefined ? {} : { value: text }),
      allowed: 'bytes, or a number with B, KiB, MiB, GiB (KB, MB, GB read as binary)',
    });
  const unit = (m[2] ?? 'B').toUpperCase()[0];
  const bytes = Number(m[1]) * { B: 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[unit as 'B' | 'K' | 'M' | 'G'];
  if (!Number.isFinite(bytes) || bytes < 1 || bytes > 2 ** 40 || !Number.isInteger(bytes))
    throw new UsageError(flag, 'must be a whole number of bytes from 1 B to 1 TiB', { value: text });
  return bytes;
}

const HELP = `Usage: npx tsx sim/memory.ts --node NODE --kind sram|rom --capacity SIZE [--word-bits N] [--bank-kb K]

Prints, as JSON, the banked memory model's figures for one memory: read energy per access and per
bit, area, the banks it is built from, the H-tree distance, and the technology constants used.
  --node NODE       technology table in fixtures/tech (${listTechNodes().join(', ')})
  --kind KIND       sram or rom
  --capacity SIZE   e.g. 4MiB, 512KiB, 65536 (bytes)
  --word-bits N     bits per access (default 256)
  --bank-kb K       largest bank in KiB, ${BANK_KB_RANGE[0]}-${BANK_KB_RANGE[1]} (default: the table's memBankKB)
Exit status: 0 ok, 2 bad input.
`;

export function main(argv: string[]): number {
  const v = parseFlags(argv, {
    node: { type: 'string' },
    kind: { type: 'string' },
    capacity: { type: 'string' },
    'word-bits': { type: 'string' },
    'bank-kb': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (v.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const node = flagChoice('--node', v.node, listTechNodes());
  const kind = flagChoice('--kind', v.kind, MEMORY_KINDS);
  const capacityBytes = parseCapacity(v.capacity, '--capacity');
  const wordBits = v['word-bits'] === undefined ? 256 : flagNumber('--word-bits', v['word-bits'], { integer: true, min: 1, max: 1 << 16 });
  const bankKB = v['bank-kb'] === undefined ? undefined : flagNumber('--bank-kb', v['bank-kb'], { min: BANK_KB_RANGE[0], max: BANK_KB_RANGE[1] });
  const t = new TechModel(loadTech(node));
  const m = memoryCost(t, { kind, capacityBits: capacityBytes * 8, wordBits, bankKB });
  const r = (x: number): number => Number(x.toPrecision(5));
  const out = {
    node,
    kind,
    capacityBytes,
    wordBits,
    readEnergyPJ: r(m.readEnergyPJ),
    readPJPerBit: r(m.readPJPerBit),
    areaMm2: r(m.areaMm2),
    banks: m.banks,
    bankBytes: m.bankBytes,
    wireMm: r(m.wireMm),
    parts: {
      energyPJ: { bank: r(m.energy.bank), wire: r(m.energy.wire) },
      areaMm2: { cells: r(m.area.cells), periphery: r(m.area.periphery), wiring: r(m.area.wiring) },
    },
    sources: t.sources().map((c) => ({ name: c.name, value: c.value, unit: c.unit, kind: c.kind, ...(c.range ? { range: c.range } : {}), source: c.source })),
  };
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  return 0;
}

if (isMain(import.meta.url)) runCli('sim/memory.ts', main);
