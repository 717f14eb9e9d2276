/**
 * The distributed engine for real: a redis-server of its own (loopback, a free port, no persistence),
 * two workers as child processes, one SIGKILLed mid-job; the distributed sweep's CSV must equal the
 * local one row for row, a malformed job must fail with its message (visible in --status) while the
 * workers go on, and a small campaign of tiny training runs must complete with every result written once.
 *
 * Also a TLS redis-server (a self-signed certificate made by openssl) reached by rediss:// with a password.
 *
 * Skips, saying why, without /usr/bin/redis-server or the ioredis package; with REQUIRE_REDIS=1 it fails instead.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QUEUE_NAME, redisClientInstalled, redisOptions } from '../../sim/queue.js';
import { glueMiniDir } from '../trainer/glue-mini.js';

const REDIS = '/usr/bin/redis-server';
const missing = !existsSync(REDIS)
  ? `${REDIS} is not installed (apt-get install redis-server)`
  : !redisClientInstalled()
    ? 'the npm package ioredis (BullMQ 6 needs it) is not installed'
    : null;
if (missing && process.env.REQUIRE_REDIS === '1') throw new Error(`REQUIRE_REDIS=1 but ${missing}`);
if (missing) console.warn(`test/sim/worker.test.ts: skipped: ${missing}`);

const SMALL_VOCAB = 'fixtures/pretrained/bert-l4-h128-v8k/vocab.txt';
const SWEEP = ['--config', 'rom-bert-base', '--array', '8x8..256x256', '--dataflow', 'os,ws,is', '--tech', '45nm,28nm,7nm'];

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });
}

/** A child whose output is kept, and a promise of the first line matching a pattern. */
interface Child {
  p: ChildProcess;
  out: () => string;
  waitFor: (re: RegExp, ms: number) => Promise<RegExpMatchArray>;
  exited: Promise<number | null>;
}

function start(cmd: string, args: string[], env: Record<string, string> = {}): Child {
  // its own process group: the test can end it and anything it started
  const p = spawn(cmd, args, { env: { ...process.env, ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  const waiters: { re: RegExp; ok: (m: RegExpMatchArray) => void }[] = [];
  const feed = (d: Buffer): void => {
    text += d.toString();
    for (const w of [...waiters]) {
      const m = text.match(w.re);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.ok(m);
      }
    }
  };
  p.stdout!.on('data', feed);
  p.stderr!.on('data', feed);
  const exited = new Promise<number | null>((ok) => p.on('close', ok));
  return {
    p,
    out: () => text,
    exited,
    waitFor: (re, ms) =>
      new Promise((ok, fail) => {
        const m = text.match(re);
        if (m) return ok(m);
        const t = setTimeout(() => fail(new Error(`no ${re} within ${ms} ms in:\n${text.slice(-3000)}`)), ms);
        waiters.push({ re, ok: (x) => (clearTimeout(t), ok(x)) });
      }),
  };
}

const killGroup = (c: Child | undefined, sig: NodeJS.Signals = 'SIGKILL'): void => {
  try {
    if (c?.p.pid) process.kill(-c.p.pid, sig);
  } catch {
    /* gone */
  }
};

const noOpenssl = spawnSync('openssl', ['version']).status !== 0;
if (!missing && noOpenssl) console.warn('test/sim/worker.test.ts: the TLS case skipped: no openssl to make its certificate');

describe.skipIf(missing !== null || noOpenssl)('Redis URLs against a redis-server of their own', () => {
  it('connect with the password over TLS (rediss://), and refuse a wrong password, a plain URL to TLS or an untrusted certificate with exit 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'redis-tls-'));
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    const ssl = spawnSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
      ],
      { encoding: 'utf8', timeout: 30_000 },
    );
    expect(ssl.status, ssl.stderr).toBe(0);
    const port = await freePort();
    const redis = start(REDIS, [
      '--port',
      '0',
      '--tls-port',
      String(port),
      '--tls-cert-file',
      cert,
      '--tls-key-file',
      key,
      '--tls-auth-clients',
      'no',
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--requirepass',
      'tls-secret',
    ]);
    try {
      await redis.waitFor(/Ready to accept connections/, 20_000);
      const status = (url: string, env: Record<string, string> = {}) =>
        spawnSync('npx', ['tsx', 'sim/worker.ts', '--queue', url, '--status'], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
      const trusted = { NODE_EXTRA_CA_CERTS: cert };
      const ok = status(`rediss://:tls-secret@localhost:${port}`, trusted);
      expect(ok.status, ok.stderr).toBe(0);
      expect(ok.stdout).toMatch(new RegExp(`^queue bitfit-rom-accel on rediss://:\\*\\*\\*@localhost:${port}: 0 queued`));
      const cases: [string, Record<string, string>, RegExp][] = [
        [`rediss://:wrong@localhost:${port}`, trusted, /--queue: cannot use the Redis at rediss:\/\/:\*\*\*@localhost:\d+: WRONGPASS/],
        [`rediss://:tls-secret@localhost:${port}`, {}, /--queue: cannot use the Redis at .*: self-signed certificate/],
        [`redis://:tls-secret@localhost:${port}`, trusted, /--queue: cannot use the Redis at redis:\/\/:\*\*\*@localhost:\d+: /],
      ];
      for (const [url, env, msg] of cases) {
        const r = status(url, env);
        expect(r.status, `${url}: ${r.stderr}`).toBe(2);
        expect(r.stderr).toMatch(msg);
        expect(r.stderr).not.toContain('tls-secret');
      }
    } finally {
      killGroup(redis);
    }
  }, 60_000);
});

describe.skipIf(missing !== null)('the distributed engine (BullMQ on a redis-server of its own)', () => {
  let redis: Child;
  let url = '';
  const children: Child[] = [];
  const worker = (): Child => {
    const w = start('npx', ['tsx', 'sim/worker.ts', '--queue', url, '--concurrency', '1', '--lock-ms', '2000', '--stalled-ms', '500'], {
      GLUE_DIR: glueMiniDir(),
    });
    children.push(w);
    return w;
  };
  const run = (script: string, ...args: string[]) =>
    spawnSync('npx', ['tsx', script, ...args], { encoding: 'utf8', env: { ...process.env, GLUE_DIR: glueMiniDir() }, timeout: 60_000, killSignal: 'SIGKILL' });

  beforeAll(async () => {
    const port = await freePort();
    redis = start(REDIS, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--requirepass', 'test-secret']);
    await redis.waitFor(/Ready to accept connections/, 20_000);
    url = `redis://:test-secret@127.0.0.1:${port}`;
  }, 30_000);

  afterAll(() => {
    for (const c of children) killGroup(c);
    killGroup(redis);
  });

  it('gives the local CSV row for row though a worker is killed mid-job, and fails a malformed job with its message', async () => {
    const [a, b] = [worker(), worker()];
    await Promise.all([a.waitFor(/concurrency 1/, 30_000), b.waitFor(/concurrency 1/, 30_000)]);
    const dq = mkdtempSync(join(tmpdir(), 'explore-queue-'));
    const sub = start('npx', ['tsx', 'sim/explore.ts', ...SWEEP, '--chunk', '250', '--queue', url, '--out', dq]);
    children.push(sub);
    // SIGKILL worker a the moment it has taken a job: that job's lock expires and b takes it over
    // (the whole process group: npx and tsx stand between this test and the worker's node)
    const [, taken] = await a.waitFor(/start job (sweep-chunk-[0-9a-f]+)/, 30_000);
    killGroup(a);
    await a.exited;
    expect(await sub.exited, sub.out()).toBe(0);
    expect(b.out()).toContain(`start job ${taken}`);
    expect(a.out()).not.toContain(`done job ${taken}`);
    const dl = mkdtempSync(join(tmpdir(), 'explore-local-'));
    const local = run('sim/explore.ts', ...SWEEP, '--out', dl);
    expect(local.status, local.stderr).toBe(0);
    const q = readFileSync(join(dq, 'explore.csv'), 'utf8').split('\n');
    const l = readFileSync(join(dl, 'explore.csv'), 'utf8').split('\n');
    expect(q.length).toBe(2916 + 2);
    for (let i = 0; i < l.length; i++) expect(q[i], `row ${i}`).toBe(l[i]);
    // submitting the same sweep again computes nothing: every chunk is done
    const again = run('sim/explore.ts', ...SWEEP, '--chunk', '250', '--queue', url, '--out', dq);
    expect(again.status, again.stderr).toBe(0);
    expect(readFileSync(join(dq, 'explore.csv'), 'utf8')).toBe(l.join('\n'));

    // a malformed job, added as anyone with the password could: it fails with its message, the worker goes on
    const { Queue } = await import('bullmq');
    const queue = new Queue(QUEUE_NAME, { connection: redisOptions(url) });
    try {
      await queue.add('sweep-chunk', { kind: 'sweep-chunk', code: 'require("child_process").exec("rm -rf /")' }, { jobId: 'hostile-1' });
      await b.waitFor(/failed job hostile-1: job hostile-1: axes: is missing|failed job hostile-1: job hostile-1: config: is missing/, 30_000);
    } finally {
      await queue.close();
    }
    const status = run('sim/worker.ts', '--queue', url, '--status');
    expect(status.status, status.stderr).toBe(0);
    expect(status.stdout).toMatch(
      /queue bitfit-rom-accel on redis:\/\/:\*\*\*@127\.0\.0\.1:\d+: \d+ queued, \d+ active, \d+ done, 1 failed; 1 workers connected/,
    );
    expect(status.stdout).toMatch(/failed hostile-1 \(sweep-chunk\): job hostile-1: \w+: is missing/);
    expect(status.stdout).not.toContain('test-secret');
  }, 60_000);

  it('runs a small campaign on the workers, every result written once, in the same place as a local run', async () => {
    const w = worker(); // beside the survivor of the test above
    await w.waitFor(/concurrency 1/, 30_000);
    const dir = mkdtempSync(join(tmpdir(), 'campaign-queue-'));
    const plan = join(dir, 'tiny.json');
    writeFileSync(
      plan,
      JSON.stringify({
        name: 'tiny',
        checkpoint: null,
        vocab: SMALL_VOCAB,
        tasks: ['rte', 'mrpc'],
        variants: ['bitfit', 'frozen'],
        seeds: [1],
        lr: { bias: [1e-3] },
        epochs: 1,
        batch: 4,
        seq: 16,
        trainLimit: { '*': 3 }, // the mini GLUE's training sets have 3 rows (a larger limit reads as stale: 3 used, plan N)
      }),
    );
    const root = join(dir, 'results');
    const c = run('trainer/campaign.ts', '--plan', plan, '--results-root', root, '--queue', url);
    expect(c.status, c.stderr).toBe(0);
    const files = readdirSync(join(root, 'tiny')).sort();
    expect(files).toEqual([
      'mrpc-bitfit-lr0.001-seed1.json',
      'mrpc-frozen-lr0.001-seed1.json',
      'rte-bitfit-lr0.001-seed1.json',
      'rte-frozen-lr0.001-seed1.json',
    ]);
    for (const f of files) {
      expect(c.stderr.split('\n').filter((line) => line === `wrote ${join(root, 'tiny', f)}`)).toHaveLength(1);
      const r = JSON.parse(readFileSync(join(root, 'tiny', f), 'utf8'));
      expect(f).toBe(`${r.task}-${r.variant}-lr${r.lr}-seed${r.seed}.json`);
      expect(r.epochs).toHaveLength(1);
    }
    // a re-submitted plan skips what is done
    const again = run('trainer/campaign.ts', '--plan', plan, '--results-root', root, '--queue', url);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/tiny: 4 runs, 4 done, 0 to do/);
    expect(again.stderr).not.toMatch(/^wrote /m);
  }, 60_000);
});
