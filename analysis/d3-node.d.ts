/** Types for the parts of d3-node (no published types) that analysis/charts.ts uses. */
declare module 'd3-node' {
  export class D3Node {
    constructor(options?: { styles?: string; selector?: string; container?: string });
    d3: unknown;
    createSVG(width: number, height: number): unknown;
    svgString(): string;
  }
}
