/**
 * The exporter (rtl-model/export.ts over synthetic-weights.ts, quantize.ts and calibrate.ts): its
 * images of every variant are what decodeImage accepts, hold exactly the spec's layout, and bind
 * the SRAM image to its ROM. That it makes the same bytes as before is test/rtl-model/known-answer.test.ts.
 */
import { describe, it, expect } from 'vitest';
import { exportImages, syntheticInput, syntheticModel, syntheticTask, BERT_INIT_STATS, type ExportResult } from '../../rtl-model/export.js';
import { oracleEngine } from '../../rtl-model/gemm/oracle.js';
import { VARIANTS, decodeImage, imageLayout, imageSha256, imageLayoutBits, type Geometry, type VariantId } from '../../rtl-model/spec/index.js';

const g: Geometry = { layers: 2, hidden: 6, heads: 2, ffn: 10, seqLen: 5, vocab: 30, maxPositions: 8, typeVocab: 2, numLabels: 3 };

async function exportFor(variant: VariantId, withTask: boolean): Promise<ExportResult> {
  const base = syntheticModel(g, 4);
  return exportImages(base, variant, syntheticInput(g, 5), oracleEngine, withTask ? syntheticTask(base, variant, 6) : undefined);
}

describe('exportImages', () => {
  for (const variant of VARIANTS) {
    it(`makes ${variant} images that decode, hold exactly the layout, and bind the SRAM image to its ROM`, async () => {
      const ex = await exportFor(variant, true);
      const rom = decodeImage(ex.rom, `${variant}.rom`, { kind: 'rom', geometry: g });
      const sram = decodeImage(ex.sram, `${variant}.sram`, { kind: 'sram', geometry: g });
      expect([...rom.tensors.keys()].sort()).toEqual([...imageLayout(g, variant, 'rom').keys()].sort());
      expect([...sram.tensors.keys()].sort()).toEqual([...imageLayout(g, variant, 'sram').keys()].sort());
      expect(sram.header.romSha256).toBe(imageSha256(ex.rom));
      expect({ rom: ex.stats.romBits, sram: ex.stats.sramBits }).toEqual(imageLayoutBits(g, variant));
    });
  }

  it('is deterministic, and the ROM does not depend on the task', async () => {
    const a = await exportFor('bitfit', true);
    const b = await exportFor('bitfit', true);
    const baseOnly = await exportFor('bitfit', false);
    expect(imageSha256(a.rom)).toBe(imageSha256(b.rom));
    expect(imageSha256(a.sram)).toBe(imageSha256(b.sram));
    expect(imageSha256(baseOnly.rom)).toBe(imageSha256(a.rom));
    expect(imageSha256(baseOnly.sram)).not.toBe(imageSha256(a.sram));
  });

  it('records where the weights came from', async () => {
    const ex = await exportFor('bitfit', true);
    expect(ex.romImage.header.meta.source).toEqual({ kind: 'synthetic', seed: 4, statistics: BERT_INIT_STATS });
    expect(ex.sramImage.header.meta.source).toMatchObject({ kind: 'synthetic', seed: 4, task: { kind: 'synthetic', seed: 6, variant: 'bitfit' } });
  });
});
