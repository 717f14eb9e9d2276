import { describe, it, expect } from 'vitest';
import { EXPORTER_VERSION, exporterVersionOf } from '../../formats/exporter-version.js';
import * as exporter from '../../rtl-model/export.js';

describe('exporter version', () => {
  it("is the version of a result's integer accuracy: recorded, 1 when unrecorded, null without one", () => {
    expect(exporterVersionOf({ integer: { images: { exporterVersion: 2 } } })).toBe(2);
    expect(exporterVersionOf({ integer: { images: {} } })).toBe(1);
    expect(exporterVersionOf({ integer: null })).toBeNull();
    expect(exporterVersionOf({})).toBeNull();
  });

  it('is one constant: the exporter re-exports the formats declaration', () => {
    expect(EXPORTER_VERSION).toBe(2);
    expect(exporter.EXPORTER_VERSION).toBe(EXPORTER_VERSION);
    expect(exporter.exporterVersionOf).toBe(exporterVersionOf);
  });
});
