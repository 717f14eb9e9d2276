import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import { memoryCost, parseCapacity } from '../../sim/memory.js';
import { loadTech, TechModel } from '../../sim/tech.js';
import { SHARED_DATA_DIR, sharedData } from '../trainer/shared-data.js';

const CACTI = resolve(SHARED_DATA_DIR, 'cacti/cacti7-sram.csv');
const cacti = sharedData(CACTI, 'the CACTI 7 SRAM table', 'see ../shared/data/README.md: cacti/cacti7-sram.csv');

function cactiRows(): { nm: number; bytes: number; bits: number; pj: number; mm2: number }[] {
  const [head, ...lines] = readFileSync(CACTI, 'utf8').trim().split('\n');
  const cols = head.split(',');
  const at = (r: string[], k: string): number => Number(r[cols.indexOf(k)]);
  return lines
    .map((l) => l.split(','))
    .map((r) => ({ nm: at(r, 'tech_nm'), bytes: at(r, 'capacity_bytes'), bits: at(r, 'access_bits'), pj: at(r, 'read_energy_pJ'), mm2: at(r, 'area_mm2') }));
}

describe(`banked memory model against CACTI 7${cacti.skipNote}`, () => {
  it.skipIf(!cacti.have)('agrees within ±35% on read energy per access and area at every 45 nm and 65 nm point (and 32 nm)', () => {
    const rows = cactiRows();
    expect(rows.filter((r) => r.nm === 45 || r.nm === 65).length).toBeGreaterThanOrEqual(12);
    let worst = 0;
    for (const r of rows) {
      const m = memoryCost(new TechModel(loadTech(`${r.nm}nm`)), { kind: 'sram', capacityBits: r.bytes * 8, wordBits: r.bits });
      const eE = m.readEnergyPJ / r.pj - 1;
      const eA = m.areaMm2 / r.mm2 - 1;
      expect(Math.abs(eE), `${r.nm} nm ${r.bytes} B energy ${m.readEnergyPJ} vs ${r.pj} pJ`).toBeLessThan(0.35);
      expect(Math.abs(eA), `${r.nm} nm ${r.bytes} B area ${m.areaMm2} vs ${r.mm2} mm²`).toBeLessThan(0.35);
      worst = Math.max(worst, Math.abs(eE), Math.abs(eA));
    }
    expect(worst).toBeLessThan(0.2); // measured 13.8% (65 nm 8 KiB energy, 64 MiB area)
  });
});

describe('banked memory model', () => {
  const t = new TechModel(loadTech('45nm'));
  it('builds a memory of any capacity from banks no larger than the bank size', () => {
    const m = memoryCost(t, { kind: 'sram', capacityBits: 4 * 2 ** 20 * 8, wordBits: 256 });
    expect(m.bankBytes).toBe(32 * 1024);
    expect(m.banks).toBe(128);
    expect(m.wireMm).toBeGreaterThan(0);
    const one = memoryCost(t, { kind: 'sram', capacityBits: 4096 * 8, wordBits: 256 });
    expect(one.banks).toBe(1);
    expect(one.wireMm).toBe(0);
  });
  it('costs more per bit and per mm² the larger the memory (wire grows with the floor plan)', () => {
    const sizes = [2 ** 16, 2 ** 20, 2 ** 24, 2 ** 28].map((b) => memoryCost(t, { kind: 'sram', capacityBits: b, wordBits: 256 }));
    for (let i = 1; i < sizes.length; i++) {
      expect(sizes[i].readPJPerBit).toBeGreaterThan(sizes[i - 1].readPJPerBit);
      expect(sizes[i].energy.wire).toBeGreaterThan(sizes[i - 1].energy.wire);
    }
  });
  it('organises a ROM by the same rules, with its smaller cell and bitline load', () => {
    const spec = { capacityBits: 2 ** 27, wordBits: 256 } as const;
    const rom = memoryCost(t, { kind: 'rom', ...spec });
    const sram = memoryCost(t, { kind: 'sram', ...spec });
    expect(rom.banks).toBe(sram.banks);
    expect(rom.areaMm2).toBeLessThan(sram.areaMm2 / 2);
    expect(rom.readEnergyPJ).toBeLessThan(sram.readEnergyPJ);
    expect(rom.writeEnergyPJ).toBe(0);
  });
  it('follows a set bank size', () => {
    const small = memoryCost(t, { kind: 'sram', capacityBits: 2 ** 24, wordBits: 256, bankKB: 8 });
    const big = memoryCost(t, { kind: 'sram', capacityBits: 2 ** 24, wordBits: 256, bankKB: 256 });
    expect(small.banks).toBe(256);
    expect(big.banks).toBe(8);
    expect(small.area.periphery).toBeGreaterThan(big.area.periphery);
    expect(small.energy.bank).toBeLessThan(big.energy.bank);
  });
  it('reads sizes in bytes and binary units', () => {
    expect(parseCapacity('4MiB', '--capacity')).toBe(4 * 2 ** 20);
    expect(parseCapacity('64KB', '--capacity')).toBe(65536);
    expect(parseCapacity('1000', '--capacity')).toBe(1000);
    expect(() => parseCapacity('4 parsecs', '--capacity')).toThrow(/--capacity: is not a size/);
  });
});

describe('npx tsx sim/memory.ts', () => {
  const run = (args: string[]): { code: number; out: string; err: string } => {
    try {
      return { code: 0, out: execFileSync('npx', ['tsx', 'sim/memory.ts', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }), err: '' };
    } catch (e) {
      const x = e as { status: number; stdout: string; stderr: string };
      return { code: x.status, out: x.stdout, err: x.stderr };
    }
  };
  it('prints the figures of one memory as JSON', () => {
    const r = run(['--node', '45nm', '--kind', 'sram', '--capacity', '4MiB', '--word-bits', '256']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    for (const k of ['readEnergyPJ', 'readPJPerBit', 'areaMm2', 'banks', 'bankBytes', 'wireMm', 'sources']) expect(j).toHaveProperty(k);
    expect(j.banks).toBe(128);
    expect(j.sources.map((s: { name: string }) => s.name)).toContain('vddV');
  }, 30000);
  it('exits 2 naming a bad flag, and prints help', () => {
    const bad = run(['--node', '3nm', '--kind', 'sram', '--capacity', '4MiB']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--node/);
    expect(run(['--node', '45nm', '--kind', 'flash', '--capacity', '1MiB']).code).toBe(2);
    expect(run(['--node', '45nm', '--kind', 'sram', '--capacity', '1MiB', '--bank-kb', '1']).err).toMatch(/--bank-kb/);
    expect(run(['--help']).out).toMatch(/--word-bits/);
  }, 60000);
});
