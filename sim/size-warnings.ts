/**
 * Warnings for design points no one could build, printed with the costs rather than leaving a
 * figure such as 108,536 mm² without a word.
 */
import type { DesignPoint } from './costs.js';

/** The reticle limit of lithography scanners, 26 mm x 33 mm: a larger design cannot be one die. */
export const RETICLE_LIMIT_MM2 = 26 * 33;

/** A warning (a headline and a line per design point) when a die area is over the reticle limit; none otherwise. */
export function sizeWarnings(points: readonly DesignPoint[]): string[] {
  const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');
  const over = points.filter((p) => p.areaMm2.total > RETICLE_LIMIT_MM2);
  if (over.length === 0) return [];
  return [
    `warning: ${over.length} of ${points.length} design(s) are over the ${RETICLE_LIMIT_MM2} mm² lithography reticle limit (26 mm x 33 mm) ` +
      'and cannot be one die; their figures are of chips that cannot be made:',
    ...over.map((p) => `  ${p.variant}: ${fmt(p.areaMm2.total)} mm² (at least ${fmt(Math.ceil(p.areaMm2.total / RETICLE_LIMIT_MM2))} reticle-sized dies)`),
  ];
}
