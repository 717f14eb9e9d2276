import { describe, it, expect } from 'vitest';
import { MemorySystem, RomWriteError } from '../../rtl-model/memory.js';
import { decodeImage, encodeImage, type Geometry } from '../../rtl-model/spec/index.js';

const g: Geometry = { layers: 1, hidden: 4, heads: 2, ffn: 8, seqLen: 3, vocab: 10, maxPositions: 8, typeVocab: 2, numLabels: 2 };
const rom = decodeImage(encodeImage('rom', g, 'bitfit', [{ name: 'w', dtype: 'i8', shape: [4], data: Int8Array.from([1, 2, 3, 4]) }], {}), 'rom');
const sram = decodeImage(encodeImage('sram', g, 'bitfit', [{ name: 'b', dtype: 'b24', shape: [2], data: Int32Array.from([5, 6]) }], {}, rom.sha256), 'sram');

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
    const other = decodeImage(encodeImage('sram', g, 'bitfit', [], {}, '0'.repeat(64)), 'sram');
    expect(() => new MemorySystem(rom, other)).toThrow(/exported for ROM image/);
  });
  it('refuses a tensor that is in both memories', () => {
    const dup = decodeImage(encodeImage('sram', g, 'bitfit', [{ name: 'w', dtype: 'i8', shape: [1], data: new Int8Array(1) }], {}), 'sram');
    expect(() => new MemorySystem(rom, dup)).toThrow(/both the ROM and the SRAM/);
  });
});
