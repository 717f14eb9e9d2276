import fc from 'fast-check';

// Property tests run with a fixed seed (override with FC_SEED to explore); a failure prints the
// seed and path to replay, and each counterexample found is kept as an explicit regression case.
fc.configureGlobal({ seed: Number(process.env.FC_SEED ?? 20261123), numRuns: Number(process.env.FC_RUNS ?? 100) });
