/** The integer spec: the only module both integer implementations may import. */
export * from './arith.js';
export * from './model.js';
export * from './image-format.js';
export * from './random.js';
