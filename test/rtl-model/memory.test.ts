import { describe, it, expect } from 'vitest';
import { MemorySystem, RomWriteError } from '../../rtl-model/memory.js';
import type { Geometry, Image, ImageKind, ImageTensor } from '../../rtl-model/spec/index.js';

const g: Geometry = { layers: 1, hidden: 4, heads: 2, ffn: 8, seqLen: 3, vocab: 10, maxPositions: 8, typeVocab: 2, numLabels: 2 };

/**
 * A decoded image as the memory model receives it, built directly: these tensors are not the
 * spec's layout (decodeImage refuses such a file), which keeps the bit counts below small.
 */
function image(kind: ImageKind, tensors: ImageTensor[], sha256: string, romSha256?: string): Image {
  const header = { kind, geometry: g, variant: 'bitfit' as const, meta: {}, toc: [], ...(romSha256 ? { romSha256 } : {}) };
  return { header, tensors: new Map(tensors.map((t) => [t.name, t])), sha256 };
}
const rom = image('rom', [{ name: 'w', dtype: 'i8', shape: [4], data: Int8Array.from([1, 2, 3, 4]) }], '1'.repeat(64));
const sram = image('sram', [{ name: 'b', dtype: 'b24', shape: [2], data: Int32Array.from([5, 6]) }], '2'.repeat(64), rom.sha256);

describe('memory model', () => {
  it('routes reads to the memory holding the tensor and counts bits per memory and tensor', () => {
    const mem = new MemorySystem(rom, sram);
    expect(mem.where('w')).toBe('rom');
    expect(mem.where('b')).toBe('sram');
    mem.read('w');
    mem.read('w', 2);
    mem.read('b');
    expect(mem.counts.bitsRead).toEqual({ rom: 48, sram: 48 });
    expect(mem.counts.perTensorBits.get('w')).toBe(48);
    expect(mem.counts.bitsWritten.sram).toBe(48); // loading the task image
    expect(mem.rom.capacityBits()).toBe(32);
  });
  it('refuses every write to ROM, including reprogramming', () => {
    const mem = new MemorySystem(rom, sram);
    expect(() => mem.rom.write('w')).toThrow(RomWriteError);
    expect(() => mem.rom.program(rom)).toThrow(RomWriteError);
  });
  it('refuses a task image exported for another ROM', () => {
    const other = image('sram', [], '3'.repeat(64), '0'.repeat(64));
    expect(() => new MemorySystem(rom, other)).toThrow(/exported for ROM image/);
  });
  it('refuses a tensor that is in both memories', () => {
    const dup = image('sram', [{ name: 'w', dtype: 'i8', shape: [1], data: new Int8Array(1) }], '4'.repeat(64), rom.sha256);
    expect(() => new MemorySystem(rom, dup)).toThrow(/both the ROM and the SRAM/);
  });
});
