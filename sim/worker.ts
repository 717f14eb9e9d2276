#!/usr/bin/env -S npx tsx
/**
 * A worker of the distributed engine (sim/queue.ts): takes sweep chunks (sim/explore.ts --queue)
 * and training runs (trainer/campaign.ts --queue) from a BullMQ queue on Redis, `--concurrency` at a
 * time, and returns their results to the submitter through the queue. It writes no result itself.
 *
 *   npx tsx sim/worker.ts --queue redis://:PASSWORD@HOST:6379 [--concurrency N] [--glue-dir DIR]
 *
 * Every job is validated first (sim/queue.ts validateJob); a malformed one fails with its message
 * (visible in --status) and the worker goes on. A sweep chunk runs on a worker thread, so the event
 * loop keeps renewing the job locks; a training run is a child process (trainer/train.ts) writing to
 * a temporary directory of this worker. If this worker dies, its locks expire after --lock-ms and
 * another worker's stalled-job check (every --stalled-ms) takes its jobs back.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { ChunkPool } from './explore-pool.js';
import { QUEUE_NAME, checkConnection, describeJob, queueStatus, redact, redisOptions, validateJob, type TrainJob } from './queue.js';
import type { ChunkResult } from './sweep.js';
import { trainArgs, type TrainJobResult } from '../trainer/campaign.js';
import { GLUE_DIR_ENV, PROJECT_ROOT, resolveGlueDir } from '../trainer/glue.js';
import { InputError, UsageError } from '../formats/errors.js';
import { isMain, runCli } from '../formats/cli.js';
import { flagNumber, parseFlags } from '../formats/flags.js';

const HELP = `Usage: npx tsx sim/worker.ts --queue URL [--concurrency N] [--glue-dir DIR] [--lock-ms MS] [--stalled-ms MS]
       npx tsx sim/worker.ts --queue URL --status

Take jobs from the queue on this Redis and run them: sweep chunks of sim/explore.ts --queue and
training runs of trainer/campaign.ts --queue. Results go back through the queue to the command that
submitted them, which writes them. Stop with Ctrl-C (running jobs finish first); a killed worker's
jobs go to another worker once their lock expires.

  --queue URL        redis://[user][:password@]host[:port][/db], or rediss://... for TLS.
                     Never expose a Redis without a password or TLS: jobs are data only, but a
                     writable Redis lets anyone fill the queue
  --concurrency N    jobs at a time (default: every core, ${availableParallelism()}); sweep chunks run on as many threads
  --glue-dir DIR     GLUE data of the training runs (default $${GLUE_DIR_ENV}, else ../shared/data/glue)
  --lock-ms MS       how long a job's lock lasts without renewal (default 30000; renewed every MS/2)
  --stalled-ms MS    how often to look for jobs of dead workers (default 30000)
  --status           show the queue (queued, active, done, failed with their errors) and exit
  -h, --help         this help
`;

/** Run one training job: trainer/train.ts into a temporary directory, its result file returned. */
async function runTraining(job: TrainJob, glueDir: string, signal: { child?: ReturnType<typeof spawn> }): Promise<TrainJobResult> {
  const dir = mkdtempSync(join(tmpdir(), 'bitfit-worker-'));
  try {
    const out = join(dir, job.out);
    const args = trainArgs(job, out);
    const code = await new Promise<{ code: number | null; err: string }>((ok) => {
      const p = spawn('npx', args, { cwd: PROJECT_ROOT, env: { ...process.env, [GLUE_DIR_ENV]: glueDir }, stdio: ['ignore', 'ignore', 'pipe'] });
      signal.child = p;
      let err = '';
      p.stderr.on('data', (d) => (err = (err + d).slice(-2000)));
      p.on('close', (c) => ok({ code: c, err }));
    });
    if (code.code !== 0) throw new Error(`trainer/train.ts exited with ${code.code}: ${code.err.trim().split('\n').slice(-5).join(' | ')}`);
    return { file: job.out, json: readFileSync(out, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function main(argv: string[]): Promise<number> {
  const v = parseFlags(argv, {
    queue: { type: 'string' },
    concurrency: { type: 'string' },
    'glue-dir': { type: 'string' },
    'lock-ms': { type: 'string' },
    'stalled-ms': { type: 'string' },
    status: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  });
  if (v.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (!v.queue) throw new UsageError('--queue', 'is required', { hint: 'e.g. --queue redis://:PASSWORD@HOST:6379' });
  const connection = redisOptions(v.queue);
  await checkConnection(v.queue);
  if (v.status) {
    process.stdout.write(await queueStatus(v.queue));
    return 0;
  }
  const concurrency = v.concurrency === undefined ? availableParallelism() : flagNumber('--concurrency', v.concurrency, { integer: true, min: 1, max: 1024 });
  const lockDuration = v['lock-ms'] === undefined ? 30_000 : flagNumber('--lock-ms', v['lock-ms'], { integer: true, min: 200 });
  const stalledInterval = v['stalled-ms'] === undefined ? 30_000 : flagNumber('--stalled-ms', v['stalled-ms'], { integer: true, min: 100 });
  if (v['glue-dir']) process.env[GLUE_DIR_ENV] = resolve(v['glue-dir']);
  const glueDir = resolveGlueDir().dir;
  // a chunk never runs on this event loop, which must keep renewing the locks
  const pool = new ChunkPool(concurrency, { inline: false });
  const me = `${hostname()}:${process.pid}`;
  const log = (s: string): boolean => process.stderr.write(`worker ${me}: ${s}\n`);
  const children = new Set<{ child?: ReturnType<typeof spawn> }>();
  const processor = async (job: Job): Promise<ChunkResult | TrainJobResult> => {
    let data;
    try {
      data = validateJob(String(job.id), job.data);
    } catch (e) {
      if (e instanceof InputError) {
        log(`refused job ${job.id}: ${e.message}`);
        throw new UnrecoverableError(e.message); // not retried: the same data fails the same way
      }
      throw e;
    }
    const t0 = performance.now();
    log(`start job ${job.id} (${data.kind}${describeJob(data)})`);
    let result: ChunkResult | TrainJobResult;
    if (data.kind === 'sweep-chunk') {
      try {
        result = await pool.run(data);
      } catch (e) {
        if (e instanceof InputError) throw new UnrecoverableError(e.message);
        throw e;
      }
    } else {
      const handle = {};
      children.add(handle);
      try {
        result = await runTraining(data, glueDir, handle);
      } finally {
        children.delete(handle);
      }
    }
    log(`done job ${job.id} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    return result;
  };
  const worker = new Worker(QUEUE_NAME, processor, { connection, concurrency, lockDuration, stalledInterval, maxStalledCount: 5, autorun: false });
  worker.on('failed', (job, err) => log(`failed job ${job?.id}: ${err.message}`));
  worker.on('error', (err) => log(`error: ${err.message}`));
  log(`on ${redact(v.queue)}, queue ${QUEUE_NAME}, concurrency ${concurrency}, lock ${lockDuration} ms, stalled check every ${stalledInterval} ms`);
  let stopping = false;
  const stop = (sig: string): void => {
    if (stopping) return;
    stopping = true;
    log(`${sig}: finishing the running jobs, then stopping`);
    void worker.close();
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  await worker.run();
  for (const h of children) h.child?.kill('SIGTERM');
  await pool.close();
  log('stopped');
  return 0;
}

if (isMain(import.meta.url)) runCli('sim/worker.ts', main);
