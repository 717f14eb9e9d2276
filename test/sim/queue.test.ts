import { describe, it, expect } from 'vitest';
import { parseFlags } from '../../formats/flags.js';
import { InputError, UsageError } from '../../formats/errors.js';
import { jobId, redact, redisOptions, validateJob } from '../../sim/queue.js';
import { chunksOf, planOf, sweepJob } from '../../sim/explore.js';
import { trainJobs, expandPlan, type Plan } from '../../trainer/campaign.js';

describe('Redis URLs', () => {
  it('become ioredis options: host, port, password, user, database, TLS', () => {
    expect(redisOptions('redis://127.0.0.1:6390')).toEqual({ host: '127.0.0.1', port: 6390, maxRetriesPerRequest: null });
    expect(redisOptions('redis://:s3cr%40t@queue.lan')).toEqual({ host: 'queue.lan', port: 6379, password: 's3cr@t', maxRetriesPerRequest: null });
    expect(redisOptions('rediss://worker:pw@q.example.org:6380/2')).toEqual({
      host: 'q.example.org',
      port: 6380,
      username: 'worker',
      password: 'pw',
      db: 2,
      tls: { servername: 'q.example.org' },
      maxRetriesPerRequest: null,
    });
    expect(redisOptions('redis://[::1]:7000').host).toBe('::1');
    // TLS to an address: certificate checked against it, no SNI name (RFC 6066 allows host names only)
    expect(redisOptions('rediss://:pw@10.0.0.7:6380')).toEqual({ host: '10.0.0.7', port: 6380, password: 'pw', tls: {}, maxRetriesPerRequest: null });
  });

  it('are refused with the flag named when they are not redis:// or rediss://', () => {
    const cases: [string, RegExp][] = [
      ['localhost:6379', /--queue: scheme localhost: is not redis: or rediss:/],
      ['http://h:1', /--queue: scheme http: is not redis: or rediss:/],
      ['not a url', /--queue: is not a URL/],
      ['redis://h:1/x', /--queue: database "x" must be a number/],
      ['redis://h:1?tls=1', /--queue: takes no query or fragment/],
    ];
    for (const [url, msg] of cases) {
      expect(() => redisOptions(url)).toThrow(UsageError);
      expect(() => redisOptions(url)).toThrow(msg);
    }
    expect(() => redisOptions('http://:topsecret@h:1')).not.toThrow(/topsecret/);
    expect(redact('redis://:topsecret@h:1')).toBe('redis://:***@h:1');
    expect(redact('rediss://u:pw@h')).toBe('rediss://u:***@h');
  });
});

const FLAGS = {
  config: { type: 'string' },
  scalesim: { type: 'string' },
  array: { type: 'string' },
  dataflow: { type: 'string' },
  tech: { type: 'string' },
  variant: { type: 'string' },
  'buffer-kb': { type: 'string' },
  'rom-banks': { type: 'string' },
  'sram-banks': { type: 'string' },
  'clock-mhz': { type: 'string' },
  'max-area-mm2': { type: 'string' },
  'max-latency-us': { type: 'string' },
  'min-accuracy': { type: 'string' },
} as const;

function sweepJobs(...argv: string[]) {
  const plan = planOf(parseFlags(argv, FLAGS) as Parameters<typeof planOf>[0]);
  return chunksOf(plan, 10).map((c) => ({ chunk: c, job: sweepJob(plan, c) }));
}

describe('sweep jobs', () => {
  const jobs = sweepJobs('--config', 'rom-bert-base', '--array', '8x8..32x32', '--dataflow', 'os,ws', '--variant', 'bitfit,full-ft');

  it('carry data only, and validate back to their chunk', () => {
    expect(jobs).toHaveLength(4); // 9 shapes x 2 x 2 = 36 points, 10 a chunk
    const { chunk, job } = jobs[1];
    expect(JSON.parse(JSON.stringify(job))).toEqual(job);
    const back = validateJob('j1', JSON.parse(JSON.stringify(job)));
    expect(back).toEqual({ kind: 'sweep-chunk', ...chunk });
    // the same data is the same job; another chunk is another
    expect(jobId(job)).toBe(jobId(JSON.parse(JSON.stringify(job))));
    expect(jobId(job)).not.toBe(jobId(jobs[2].job));
    expect(jobId(job)).toMatch(/^sweep-chunk-[0-9a-f]{40}$/);
  });

  it('are refused with the job and the field named when malformed', () => {
    const good = JSON.parse(JSON.stringify(jobs[0].job));
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const edit = (f: (d: Record<string, any>) => void): unknown => {
      const d = structuredClone(good);
      f(d);
      return d;
    };
    const cases: [unknown, RegExp][] = [
      [null, /^job j: \(data\): must be an object/],
      [{ ...good, kind: 'shell' }, /^job j: kind: is not one of sweep-chunk, train-run \(got "shell"\)/],
      [{ ...good, code: 'process.exit()' }, /^job j: code: unknown field; allowed: kind, config, axes, start, end/],
      [edit((d) => (d.config.hardware.array.rows = -1)), /^job j: config\.hardware\.array\.rows: -1 must be an integer in \[1, 16384\]/],
      [edit((d) => (d.config.extends = '/etc/passwd')), /^job j: config\.extends: unknown field/],
      [edit((d) => (d.config.model.checkpoint = '/etc')), /^job j: config\.model\.checkpoint: must be null: a sweep job names no files/],
      [edit((d) => (d.config.model.results = 'fixtures/results/x')), /^job j: config\.model\.results: must be absent/],
      [edit((d) => (d.axes.nodes = ['../../etc/passwd'])), /^job j: axes\.nodes\[0\]: is not one of .*28nm/],
      [edit((d) => (d.axes.arrays = [[8, 0]])), /^job j: axes\.arrays\[0\]\[1\]: must be an integer in \[1, 16384\]/],
      [edit((d) => (d.axes.variants = [])), /^job j: axes\.variants: must be a non-empty list/],
      [edit((d) => (d.end = 1e9)), /^job j: end: must be an integer in \[1, 36\]/],
      [edit((d) => (d.start = -1)), /^job j: start: must be an integer in \[0, 35\]/],
    ];
    for (const [data, msg] of cases) {
      expect(() => validateJob('j', data), JSON.stringify(data)?.slice(0, 80)).toThrow(InputError);
      expect(() => validateJob('j', data), JSON.stringify(data)?.slice(0, 80)).toThrow(msg);
    }
  });
});

describe('training jobs', () => {
  const plan: Plan = {
    name: 'q',
    checkpoint: 'fixtures/pretrained/bert-l4-h128-v8k',
    tasks: ['rte'],
    variants: ['bitfit', 'full-ft'],
    seeds: [1],
    lr: { bias: [1e-3], full: [5e-4] },
    epochs: 1,
    batch: 4,
    seq: 16,
    trainLimit: { '*': 8 },
  };
  const jobs = trainJobs(plan, expandPlan(plan, '/anywhere/q'));

  it('name the result file only, and paths relative to the project', () => {
    expect(jobs.map((j) => j.out)).toEqual(['rte-bitfit-lr0.001-seed1.json', 'rte-full-ft-lr0.0005-seed1.json']);
    expect(jobs[0]).toMatchObject({ kind: 'train-run', plan: 'q', checkpoint: 'fixtures/pretrained/bert-l4-h128-v8k', vocab: null, limit: 8 });
    expect(validateJob('t', JSON.parse(JSON.stringify(jobs[0])))).toEqual(jobs[0]);
  });

  it('are refused when a path leaves the project or the job is not a run', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ checkpoint: '../../etc' }, /^job t: checkpoint: must be a path relative to the project, inside it/],
      [{ checkpoint: '/etc' }, /^job t: checkpoint: must be a path relative to the project/],
      [{ checkpoint: 'fixtures/configs' }, /^job t: checkpoint: is not a checkpoint directory of this worker/],
      [{ vocab: 'fixtures/../../x/vocab.txt' }, /^job t: vocab: must be a path relative to the project/],
      [{ out: '../evil.json' }, /^job t: out: must be a result file name/],
      [{ out: 'sub/x.json' }, /^job t: out: must be a result file name/],
      [{ plan: '..' }, /^job t: plan: must be a directory name/],
      [{ task: 'qnli' }, /^job t: task: is not one of/],
      [{ lr: 0 }, /^job t: lr: must be a learning rate in \(0, 1\)/],
      [{ seq: 4 }, /^job t: seq: must be an integer in \[8, 65536\]/],
      [{ args: ['--rm'] }, /^job t: args: unknown field/],
    ];
    for (const [over, msg] of cases) expect(() => validateJob('t', { ...jobs[0], ...over }), JSON.stringify(over)).toThrow(msg);
  });
});
