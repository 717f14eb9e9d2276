/**
 * Memory model of the accelerator: a read-only ROM array holding the hard-wired tensors and a
 * writable SRAM holding the task image. Every read is counted in bits per memory and per tensor,
 * so the simulator can cost it; ROM refuses every write.
 */
import { DTYPE_BITS, type Image, type ImageTensor, type TensorData } from './spec/index.js';

export class RomWriteError extends Error {
  constructor(name: string) {
    super(`write to ROM tensor ${name}: ROM is read-only in this memory model`);
    this.name = 'RomWriteError';
  }
}

export type MemoryKind = 'rom' | 'sram';

export interface AccessCounts {
  /** Bits read per memory. */
  bitsRead: Record<MemoryKind, number>;
  /** Bits written per memory (task-image loads into SRAM). */
  bitsWritten: Record<MemoryKind, number>;
  /** Bits read per tensor name. */
  perTensorBits: Map<string, number>;
}

function addChecked(a: number, b: number, what: string): number {
  const s = a + b;
  if (!Number.isSafeInteger(s)) throw new RangeError(`access counter ${what} overflowed (${a} + ${b})`);
  return s;
}

abstract class CountedMemory {
  abstract readonly kind: MemoryKind;
  protected readonly store = new Map<string, ImageTensor>();
  constructor(protected readonly counts: AccessCounts) {}

  has(name: string): boolean {
    return this.store.has(name);
  }

  names(): string[] {
    return [...this.store.keys()];
  }

  /** Total capacity in bits (each tensor at its spec width). */
  capacityBits(): number {
    let bits = 0;
    for (const t of this.store.values()) bits += t.data.length * DTYPE_BITS[t.dtype];
    return bits;
  }

  /**
   * Read `elements` elements of a tensor (default: all of it) and count them. Returns the backing
   * array; callers treat it as read-only (the ROM/SRAM distinction is enforced on writes).
   */
  read(name: string, elements?: number): TensorData {
    const t = this.store.get(name);
    if (!t) throw new Error(`${this.kind.toUpperCase()} has no tensor ${name}`);
    const bits = (elements ?? t.data.length) * DTYPE_BITS[t.dtype];
    this.counts.bitsRead[this.kind] = addChecked(this.counts.bitsRead[this.kind], bits, `${this.kind}.bitsRead`);
    this.counts.perTensorBits.set(name, addChecked(this.counts.perTensorBits.get(name) ?? 0, bits, name));
    return t.data;
  }

  tensor(name: string): ImageTensor | undefined {
    return this.store.get(name);
  }
}

export class Rom extends CountedMemory {
  readonly kind = 'rom' as const;
  private sealed = false;

  /** Mask-program the ROM from an image; afterwards it is sealed. */
  program(image: Image): void {
    if (this.sealed) throw new RomWriteError('(program)');
    for (const t of image.tensors.values()) this.store.set(t.name, t);
    this.sealed = true;
  }

  write(name: string): never {
    throw new RomWriteError(name);
  }
}

export class Sram extends CountedMemory {
  readonly kind = 'sram' as const;

  /** Load a task image: every tensor is written (and counted as written bits). */
  loadTaskImage(image: Image): void {
    this.store.clear();
    for (const t of image.tensors.values()) this.write(t);
  }

  write(t: ImageTensor): void {
    const bits = t.data.length * DTYPE_BITS[t.dtype];
    this.counts.bitsWritten.sram = addChecked(this.counts.bitsWritten.sram, bits, 'sram.bitsWritten');
    this.store.set(t.name, t);
  }
}

/** ROM plus SRAM with one set of counters; reads go to whichever memory holds the tensor. */
export class MemorySystem {
  readonly counts: AccessCounts = { bitsRead: { rom: 0, sram: 0 }, bitsWritten: { rom: 0, sram: 0 }, perTensorBits: new Map() };
  readonly rom = new Rom(this.counts);
  readonly sram = new Sram(this.counts);

  constructor(romImage: Image, sramImage: Image) {
    if (sramImage.header.romSha256 && sramImage.header.romSha256 !== romImage.sha256) {
      throw new Error(`SRAM task image was exported for ROM image ${sramImage.header.romSha256.slice(0, 16)}..., not ${romImage.sha256.slice(0, 16)}...`);
    }
    this.rom.program(romImage);
    this.sram.loadTaskImage(sramImage);
    for (const name of this.sram.names()) {
      if (this.rom.has(name)) throw new Error(`tensor ${name} is in both the ROM and the SRAM image`);
    }
  }

  where(name: string): MemoryKind {
    if (this.sram.has(name)) return 'sram';
    if (this.rom.has(name)) return 'rom';
    throw new Error(`no memory holds tensor ${name}`);
  }

  read(name: string, elements?: number): TensorData {
    return this.sram.has(name) ? this.sram.read(name, elements) : this.rom.read(name, elements);
  }

  resetCounts(): void {
    this.counts.bitsRead.rom = 0;
    this.counts.bitsRead.sram = 0;
    this.counts.perTensorBits.clear();
  }
}
