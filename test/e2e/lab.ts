// The namespace lab lives in src/lab (the demo and the benchmarks use it too).
export * from '../../src/lab/netns.js';
