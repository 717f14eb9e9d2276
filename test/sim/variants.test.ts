import { describe, it, expect } from 'vitest';
import { loadConfig, geometryOf } from '../../sim/config.js';
import { SIM_VARIANTS, storagePlan } from '../../sim/variants.js';

const g = geometryOf(loadConfig('rom-bert-base').model);

describe('storage plans', () => {
  it('are computed once per geometry and variant, and shared frozen', () => {
    for (const v of SIM_VARIANTS) {
      const p = storagePlan(g, v);
      expect(storagePlan({ ...g }, v), v).toBe(p);
      expect(Object.isFrozen(p), v).toBe(true);
      if (p.patch) expect(Object.isFrozen(p.patch), v).toBe(true);
      expect(() => {
        (p as { romBits: number }).romBits = 0;
      }, v).toThrow(TypeError);
    }
  });

  it('equal a fresh computation, and follow the geometry', () => {
    // the same geometry with its fields in another order misses the memo: computed anew
    const reordered = Object.fromEntries(Object.entries(g).reverse()) as typeof g;
    const half = { ...g, layers: g.layers / 2 };
    for (const v of SIM_VARIANTS) {
      const fresh = storagePlan(reordered, v);
      expect(fresh, v).not.toBe(storagePlan(g, v));
      expect(fresh, v).toEqual(storagePlan(g, v));
      const bits = (p: ReturnType<typeof storagePlan>): number => p.romBits + p.taskImageBits;
      expect(bits(storagePlan(half, v)), v).toBeLessThan(bits(storagePlan(g, v)));
    }
  });
});
