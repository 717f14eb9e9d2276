/**
 * The distributed engine: BullMQ jobs on one Redis. A sweep (sim/explore.ts --queue) is split into
 * chunks of points, a campaign (trainer/campaign.ts --queue) into its training runs; workers
 * (sim/worker.ts, on any machine that reaches the Redis) take both kinds. The submitter writes every
 * result itself, once, from the jobs' return values, so workers need no shared file system and write
 * nothing but their own temporary files.
 *
 * Safe by construction: a job is data only (numbers, names, lists; no code, no command, no path but
 * project-relative checkpoint and vocabulary paths that must stay inside the project and a result file
 * name without a directory). The worker validates it (`validateJob`) and refuses anything else with an
 * InputError naming the job and the field, as a config's error names the file and the field; the job
 * then fails with that message (visible in --status) and the worker goes on.
 *
 * Job ids are a hash of the job's data: submitting a plan again adds nothing that is queued or done,
 * collects what finished while no submitter waited, and retries what failed. A worker killed mid-job
 * loses nothing: its lock expires and BullMQ's stalled-job check gives the job to another worker.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { isAbsolute, join, normalize, resolve, sep } from 'node:path';
import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import { InputError, UsageError, showValue } from '../formats/errors.js';
import { loadConfig, DATAFLOWS } from './config.js';
import { SIM_VARIANTS } from './variants.js';
import { listTechNodes } from './tech.js';
import { countPoints, type ExploreAxes } from './explore-space.js';
import type { ChunkSpec } from './sweep.js';
import type { RunRecipe } from '../trainer/campaign.js';
import { TRAINABLE_VARIANTS } from '../formats/variants.js';
import { GLUE_TASKS, PROJECT_ROOT } from '../trainer/glue.js';

/** The one queue both kinds of job go through. */
export const QUEUE_NAME = 'bitfit-rom-accel';

/**
 * ioredis options of a Redis URL: redis://[user][:password]@host[:port][/db] or rediss:// (TLS).
 * Anything else is a UsageError naming the flag.
 */
export function redisOptions(url: string, flag = '--queue'): ConnectionOptions & { host: string; port: number } {
  let u: URL;
  const allowed = 'redis://[:password@]host[:port][/db] or rediss://... (TLS)';
  try {
    u = new URL(url);
  } catch {
    throw new UsageError(flag, 'is not a URL', { value: url, allowed });
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:')
    throw new UsageError(flag, `scheme ${u.protocol} is not redis: or rediss:`, { value: redact(url), allowed });
  if (!u.hostname) throw new UsageError(flag, 'names no host', { value: redact(url), allowed });
  const port = u.port === '' ? 6379 : Number(u.port);
  const dbText = u.pathname.replace(/^\//, '');
  if (dbText !== '' && !/^\d+$/.test(dbText))
    throw new UsageError(flag, `database ${JSON.stringify(dbText)} must be a number`, { value: redact(url), allowed });
  if (u.search || u.hash) throw new UsageError(flag, 'takes no query or fragment', { value: redact(url), allowed });
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  return {
    host,
    port,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(dbText ? { db: Number(dbText) } : {}),
    // (SNI takes a host name only: RFC 6066 section 3)
    ...(u.protocol === 'rediss:' ? { tls: isIP(host) ? {} : { servername: host } } : {}),
    // BullMQ's workers block on Redis; their commands must wait for a reconnection rather than fail
    maxRetriesPerRequest: null,
  };
}

/** Is the Redis client BullMQ 6 loads (ioredis, an optional peer dependency of bullmq) installed? */
export function redisClientInstalled(): boolean {
  try {
    createRequire(import.meta.url).resolve('ioredis');
    return true;
  } catch {
    return false;
  }
}

/** Refuse (exit 2) before any work when the Redis client is missing: BullMQ would fail on its first call. */
export function checkRedisClient(flag = '--queue'): void {
  if (!redisClientInstalled())
    throw new InputError(
      '(environment)',
      flag,
      "needs the npm package ioredis, BullMQ's Redis client (an optional peer dependency of bullmq 6), which is not installed",
      {
        hint: 'npm install ioredis (the project lists it in package.json)',
      },
    );
}

/**
 * Connect to the Redis of a URL once, with no retries, and PING it: a wrong password, a refused or
 * unreachable port, or TLS against a plain Redis (and the reverse) is a UsageError naming the flag,
 * rather than BullMQ's endless reconnecting.
 */
export async function checkConnection(url: string, flag = '--queue', timeoutMs = 10_000): Promise<void> {
  checkRedisClient(flag);
  const { Redis } = await import('ioredis');
  const client = new Redis({
    ...(redisOptions(url, flag) as object),
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  let first: Error | null = null;
  client.on('error', (e: Error) => (first ??= e));
  try {
    const timer = new Promise<never>((_, fail) => setTimeout(() => fail(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs).unref());
    await Promise.race([client.connect().then(() => client.ping()), timer]);
  } catch (e) {
    const why = (first ?? (e as Error)).message || String(e);
    throw new UsageError(flag, `cannot use the Redis at ${redact(url)}: ${why}`, {
      hint: 'is redis-server running there, and do the password and the scheme (redis:// plain, rediss:// TLS) match its configuration?',
    });
  } finally {
    client.disconnect();
  }
}

/** The URL without its password, for messages and logs. */
export function redact(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/]*:)[^@/]*@/i, '$1***@');
}

export type SweepJob = { kind: 'sweep-chunk' } & ChunkSpec;
/** A training run of a campaign plan: the run itself, the plan it belongs to and its result's file name (in the plan's results directory). */
export type TrainJob = { kind: 'train-run'; plan: string; out: string } & RunRecipe;
export type JobData = SweepJob | TrainJob;

/** The id of a job: a hash of its data (the same plan submitted twice names the same jobs). */
export function jobId(data: JobData): string {
  return `${data.kind}-${createHash('sha256').update(JSON.stringify(data)).digest('hex').slice(0, 40)}`;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks of one job's data, each failure an InputError `job <id>: <field>: <problem>`. */
class JobChecker {
  constructor(readonly where: string) {}
  fail(field: string, problem: string, value?: unknown): never {
    throw new InputError(this.where, field, problem, value === undefined ? {} : { value });
  }
  fields(o: unknown, path: string, keys: string[]): Obj {
    if (!isObj(o)) this.fail(path || '(data)', 'must be an object', o);
    for (const k of keys) if (!(k in o)) this.fail(path ? `${path}.${k}` : k, 'is missing');
    for (const k of Object.keys(o)) if (!keys.includes(k)) this.fail(path ? `${path}.${k}` : k, `unknown field; allowed: ${keys.join(', ')}`);
    return o;
  }
  num(v: unknown, field: string, lo: number, hi: number, integer: boolean): number {
    if (typeof v !== 'number' || !Number.isFinite(v) || (integer && !Number.isInteger(v)) || v < lo || v > hi)
      this.fail(field, `must be ${integer ? 'an integer' : 'a number'} in [${lo}, ${hi}]`, v);
    return v;
  }
  oneOf<T extends string>(v: unknown, field: string, allowed: readonly T[]): T {
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) this.fail(field, `is not one of ${allowed.join(', ')}`, v);
    return v as T;
  }
  list<T>(v: unknown, field: string, item: (x: unknown, f: string) => T, max = 10_000): T[] {
    if (!Array.isArray(v) || v.length === 0 || v.length > max) this.fail(field, `must be a non-empty list of at most ${max}`, v);
    return v.map((x, i) => item(x, `${field}[${i}]`));
  }
  /** A path relative to the project that stays inside it (no absolute path, no `..`). */
  projectPath(v: unknown, field: string, kind: 'dir' | 'file'): string {
    if (typeof v !== 'string' || v === '' || isAbsolute(v) || v.includes('\0') || normalize(v).split(/[\\/]/).includes('..'))
      this.fail(field, 'must be a path relative to the project, inside it (no absolute path, no ..)', v);
    const abs = resolve(PROJECT_ROOT, v);
    if (!abs.startsWith(PROJECT_ROOT.endsWith(sep) ? PROJECT_ROOT : PROJECT_ROOT + sep)) this.fail(field, 'leaves the project', v);
    const ok = existsSync(abs) && (kind === 'dir' ? statSync(abs).isDirectory() && existsSync(join(abs, 'model.safetensors')) : statSync(abs).isFile());
    if (!ok) this.fail(field, kind === 'dir' ? 'is not a checkpoint directory of this worker (with model.safetensors)' : 'is not a file of this worker', v);
    return v;
  }
}

const validConfigs = new Map<string, string | null>();

/**
 * The config of a sweep job, validated by the config loader itself (sim/config.ts loadConfig, on a
 * temporary copy): the same checks and messages as a config file, the field named as `config.<field>`.
 * It may not name files: no `extends`, no checkpoint, no results.
 */
function checkSweepConfig(c: JobChecker, raw: unknown): ChunkSpec['hardware'] {
  const cfg = c.fields(raw, 'config', ['name', 'description', 'model', 'hardware', 'variants', 'verify']);
  const model = cfg.model;
  if (!isObj(model)) c.fail('config.model', 'must be an object', model);
  if (model.checkpoint !== null) c.fail('config.model.checkpoint', 'must be null: a sweep job names no files', model.checkpoint);
  if ('results' in model) c.fail('config.model.results', 'must be absent: a sweep job names no files', model.results);
  const key = JSON.stringify(cfg);
  if (!validConfigs.has(key)) {
    const dir = mkdtempSync(join(tmpdir(), 'job-config-'));
    try {
      const file = join(dir, 'config.json');
      writeFileSync(file, key);
      loadConfig(file);
      validConfigs.set(key, null);
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      validConfigs.set(key, `${e.field}\u0000${e.problem}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const bad = validConfigs.get(key);
  if (bad) {
    const [field, problem] = bad.split('\u0000');
    c.fail(`config.${field}`, problem);
  }
  return (cfg as unknown as { hardware: ChunkSpec['hardware'] }).hardware;
}

const MAX_CHUNK = 100_000;

/** A job's data as a typed job, or an InputError naming the job and the field. */
export function validateJob(id: string, data: unknown): JobData {
  const c: JobChecker = new JobChecker(`job ${id}`);
  if (!isObj(data)) c.fail('(data)', 'must be an object', data);
  const kind = c.oneOf(data.kind, 'kind', ['sweep-chunk', 'train-run'] as const);
  if (kind === 'sweep-chunk') {
    const d = c.fields(data, '', ['kind', 'config', 'axes', 'start', 'end']);
    const hardware = checkSweepConfig(c, d.config);
    const g = (d.config as { model: Obj }).model;
    const a = c.fields(d.axes, 'axes', ['nodes', 'arrays', 'dataflows', 'bufferKB', 'romBanks', 'sramBanks', 'clockMHz', 'variants']);
    const side = (x: unknown, f: string): number => c.num(x, f, 1, 1 << 14, true);
    const axes: ExploreAxes = {
      nodes: c.list(a.nodes, 'axes.nodes', (x, f) => c.oneOf(x, f, listTechNodes())),
      arrays: c.list(a.arrays, 'axes.arrays', (x, f) => {
        if (!Array.isArray(x) || x.length !== 2) c.fail(f, 'must be [rows, cols]', x);
        return [side(x[0], `${f}[0]`), side(x[1], `${f}[1]`)] as [number, number];
      }),
      dataflows: c.list(a.dataflows, 'axes.dataflows', (x, f) => c.oneOf(x, f, DATAFLOWS)),
      bufferKB: c.list(a.bufferKB, 'axes.bufferKB', (x, f) => c.num(x, f, Number.MIN_VALUE, 1 << 20, false)),
      romBanks: c.list(a.romBanks, 'axes.romBanks', (x, f) => c.num(x, f, 1, 1 << 16, true)),
      sramBanks: c.list(a.sramBanks, 'axes.sramBanks', (x, f) => c.num(x, f, 1, 1 << 16, true)),
      clockMHz: c.list(a.clockMHz, 'axes.clockMHz', (x, f) => c.num(x, f, Number.MIN_VALUE, 1e5, false)),
      variants: c.list(a.variants, 'axes.variants', (x, f) => c.oneOf(x, f, SIM_VARIANTS)),
    };
    const n = countPoints(axes);
    const start = c.num(d.start, 'start', 0, Math.max(0, n - 1), true);
    const end = c.num(d.end, 'end', start + 1, Math.min(n, start + MAX_CHUNK), true);
    const geometry = Object.fromEntries(
      ['layers', 'hidden', 'heads', 'ffn', 'seqLen', 'vocab', 'maxPositions', 'typeVocab', 'numLabels'].map((k) => [k, g[k]]),
    );
    return { kind, geometry: geometry as unknown as ChunkSpec['geometry'], hardware, axes, start, end };
  }
  const d = c.fields(data, '', ['kind', 'plan', 'task', 'variant', 'lr', 'seed', 'epochs', 'batch', 'seq', 'limit', 'checkpoint', 'vocab', 'out']);
  if (typeof d.plan !== 'string' || !/^[A-Za-z0-9._-]+$/.test(d.plan) || d.plan.startsWith('.'))
    c.fail('plan', 'must be a directory name (letters, digits, . _ -)', d.plan);
  if (typeof d.out !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*\.json$/.test(d.out))
    c.fail('out', 'must be a result file name (letters, digits, . _ -, ending .json; no directory)', d.out);
  const lr = c.num(d.lr, 'lr', 0, 1, false);
  if (lr === 0 || lr === 1) c.fail('lr', 'must be a learning rate in (0, 1)', lr);
  return {
    kind,
    plan: d.plan,
    task: c.oneOf(
      d.task,
      'task',
      GLUE_TASKS.filter((t) => t !== 'qnli'),
    ),
    variant: c.oneOf(d.variant, 'variant', TRAINABLE_VARIANTS as readonly string[]),
    lr,
    seed: c.num(d.seed, 'seed', 0, 2 ** 32 - 1, true),
    epochs: c.num(d.epochs, 'epochs', 1, 1000, true),
    batch: c.num(d.batch, 'batch', 1, 1 << 16, true),
    seq: c.num(d.seq, 'seq', 8, 1 << 16, true),
    limit: c.num(d.limit, 'limit', 0, 2 ** 31, true),
    checkpoint: d.checkpoint === null ? null : c.projectPath(d.checkpoint, 'checkpoint', 'dir'),
    vocab: d.vocab === null ? null : c.projectPath(d.vocab, 'vocab', 'file'),
    out: d.out,
  };
}

const DAY_S = 24 * 3600;
/** Kept a week: a submitter that comes back later still collects its results. */
const JOB_OPTS: JobsOptions = { attempts: 2, backoff: { type: 'fixed', delay: 1000 }, removeOnComplete: { age: 7 * DAY_S }, removeOnFail: { age: 7 * DAY_S } };

export interface Submission<R> {
  /** Results by job id, in the order the jobs were given. */
  results: Map<string, R>;
  failed: { id: string; reason: string }[];
}

export interface SubmitOptions<R> {
  /** Called once per job as it finishes (its return value), e.g. to write its result file. */
  onDone?: (id: string, result: R) => void;
  /** Called after every poll: jobs done (or failed) so far, and workers connected. */
  onProgress?: (finished: number, total: number, workers: number) => void;
  /** Poll interval in ms (default 200). */
  pollMs?: number;
}

/**
 * Add the jobs (those already queued, running or done are left as they are; failed ones are retried)
 * and wait until each has completed or failed for good.
 */
export async function submitAndWait<R>(url: string, jobs: JobData[], opts: SubmitOptions<R> = {}): Promise<Submission<R>> {
  await checkConnection(url);
  const queue = new Queue(QUEUE_NAME, { connection: redisOptions(url) });
  queue.on('error', () => undefined); // a lost connection shows as a failing call below
  try {
    const ids = jobs.map(jobId);
    const existing = await Promise.all(ids.map((id) => queue.getJobState(id)));
    const fresh = jobs.map((data, i) => ({ data, id: ids[i], state: existing[i] })).filter((j) => j.state === 'unknown');
    for (let i = 0; i < fresh.length; i += 500)
      await queue.addBulk(fresh.slice(i, i + 500).map((j) => ({ name: j.data.kind, data: j.data, opts: { ...JOB_OPTS, jobId: j.id } })));
    for (let i = 0; i < ids.length; i++) if (existing[i] === 'failed') await (await queue.getJob(ids[i]))?.retry('failed');
    const pending = new Set(ids);
    const results = new Map<string, R>();
    const failed: { id: string; reason: string }[] = [];
    while (pending.size > 0) {
      const batch = [...pending];
      const states = await Promise.all(batch.map((id) => queue.getJobState(id)));
      for (let i = 0; i < batch.length; i++) {
        const id = batch[i];
        if (states[i] === 'completed') {
          const job = await queue.getJob(id);
          if (!job) continue; // removed between the two calls: seen as unknown next time
          pending.delete(id);
          results.set(id, job.returnvalue as R);
          opts.onDone?.(id, job.returnvalue as R);
        } else if (states[i] === 'failed') {
          const job = await queue.getJob(id);
          pending.delete(id);
          failed.push({ id, reason: job?.failedReason ?? '(no reason recorded)' });
        } else if (states[i] === 'unknown') {
          // removed (e.g. by hand): add it again
          const data = jobs[ids.indexOf(id)];
          await queue.add(data.kind, data, { ...JOB_OPTS, jobId: id });
        }
      }
      opts.onProgress?.(ids.length - pending.size, ids.length, await queue.getWorkersCount());
      if (pending.size > 0) await new Promise((ok) => setTimeout(ok, opts.pollMs ?? 200));
    }
    const order = new Map(ids.map((id, i) => [id, i]));
    return { results: new Map([...results].sort((a, b) => order.get(a[0])! - order.get(b[0])!)), failed };
  } finally {
    await queue.close();
  }
}

/** The queue's state in words: jobs queued, active, done and failed (with the failures' errors), and workers. */
export async function queueStatus(url: string, maxFailures = 20): Promise<string> {
  await checkConnection(url);
  const queue = new Queue(QUEUE_NAME, { connection: redisOptions(url) });
  queue.on('error', () => undefined);
  try {
    const n = await queue.getJobCounts('waiting', 'delayed', 'prioritized', 'waiting-children', 'active', 'completed', 'failed');
    const queued = n.waiting + n.delayed + n.prioritized + n['waiting-children'];
    const workers = await queue.getWorkers();
    const lines = [
      `queue ${QUEUE_NAME} on ${redact(url)}: ${queued} queued, ${n.active} active, ${n.completed} done, ${n.failed} failed; ` +
        `${workers.length} workers connected`,
    ];
    const byKind = async (state: 'active' | 'failed'): Promise<string[]> =>
      (await queue.getJobs([state], 0, maxFailures - 1)).map((j) =>
        state === 'failed' ? `  failed ${j.id} (${j.name}): ${j.failedReason}` : `  active ${j.id} (${j.name}${describeJob(j.data)})`,
      );
    lines.push(...(await byKind('active')), ...(await byKind('failed')));
    if (n.failed > maxFailures) lines.push(`  ... and ${n.failed - maxFailures} more failed`);
    return `${lines.join('\n')}\n`;
  } finally {
    await queue.close();
  }
}

/** A job's data in a few words (for logs and --status). */
export function describeJob(data: unknown): string {
  if (!isObj(data)) return `: ${showValue(data)}`;
  if (data.kind === 'sweep-chunk') return `: points ${showValue(data.start)}..${showValue(data.end)}`;
  if (data.kind === 'train-run') return `: ${showValue(data.plan)} ${showValue(data.out)}`;
  return `: ${showValue(data)}`;
}
