/**
 * The flags of trainer/pretrain.ts: parsed, checked (a UsageError naming the flag for each problem,
 * exit 2) and the output directory checked before any data is read. HELP shows the same defaults.
 */
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { BACKENDS, type BackendRequest } from './backend.js';
import { flagChoice, flagNumber, parseFlags } from '../formats/flags.js';
import { checkOutputDir } from '../formats/atomic-write.js';
import { UsageError } from '../formats/errors.js';

export const PRETRAIN_FLAGS = {
  out: { type: 'string', default: 'fixtures/pretrained/bert-l4-h128' },
  'max-steps': { type: 'string', default: '40000' },
  minutes: { type: 'string', default: '60' },
  batch: { type: 'string', default: '32' },
  lr: { type: 'string', default: '1e-3' },
  warmup: { type: 'string', default: '1000' },
  every: { type: 'string', default: '500' },
  layers: { type: 'string', default: '4' },
  hidden: { type: 'string', default: '128' },
  heads: { type: 'string', default: '2' },
  ffn: { type: 'string', default: '512' },
  seq: { type: 'string', default: '128' },
  seed: { type: 'string', default: '1' },
  backend: { type: 'string', default: 'wasm' },
  threads: { type: 'string', default: String(cpus().length) },
  objective: { type: 'string', default: 'mlm+nsp' },
  dropout: { type: 'string', default: '0.1' },
  vocab: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export const OBJECTIVES = ['mlm+nsp', 'mlm'] as const;
export type Objective = (typeof OBJECTIVES)[number];

const d = (k: keyof typeof PRETRAIN_FLAGS): string => String((PRETRAIN_FLAGS[k] as { default?: string | boolean }).default);

export const PRETRAIN_HELP = `Usage: npx tsx trainer/pretrain.ts [--out DIR] [--minutes M] [--max-steps N] [options]

Pre-train the project's own small BERT with BERT's recipe: masked LM (15% of the non-special
tokens; of those 80% [MASK], 10% a random token, 10% unchanged), plus next-sentence prediction on
the pooled [CLS] by default. The text: the corpora of ../shared/data/corpus and the sentences of
the GLUE train sets, tokenized with WordPiece and packed into sequences of --seq tokens; every
100th sequence is held out for evaluation. A checkpoint (model.safetensors, config.json, and
state.json with the step, loss curve, held-out accuracy and provenance) is written every --every
steps, when the time budget ends and on SIGINT/SIGTERM (after the current step). A run resumes from
DIR when DIR holds a checkpoint (AdamW moments restart with a short warm-up).

  --out DIR          the checkpoint directory, resumed when it holds one (default ${d('out')})
  --minutes M        wall-time budget of this session (default ${d('minutes')})
  --max-steps N      stop at this step; the learning rate decays linearly to 0 there (default ${d('max-steps')})
  --batch B          sequences per step (default ${d('batch')})
  --lr X             peak learning rate (default ${d('lr')})
  --warmup N         linear warm-up steps (default ${d('warmup')}; at most 200 again on resume)
  --every N          evaluate and checkpoint every N steps (default ${d('every')})
  --layers N --hidden N --heads N --ffn N --seq N
                     the geometry (default ${d('layers')}, ${d('hidden')}, ${d('heads')}, ${d('ffn')}, ${d('seq')})
  --seed S           seed of the initialisation, sampling and masking (default ${d('seed')})
  --threads T        split every batch over T threads (T - 1 gradient workers; default: the cores, here ${d('threads')})
  --objective O      ${OBJECTIVES.join(' or ')} (default ${d('objective')})
  --dropout P        hidden and attention dropout in [0, 1) (default ${d('dropout')}, BERT's)
  --vocab FILE       the vocabulary (default: DIR/vocab.txt when resuming a run that has one, else
                     BERT uncased's in ../shared/data); one other than BERT's is copied to DIR/vocab.txt
  --backend B        ${BACKENDS.join(', ')} (default ${d('backend')})
  -h, --help         this help

Progress goes to stderr (step, loss, learning rate, steps/s; held-out accuracy at every checkpoint).
Exit status: 0 stopped with a checkpoint, 2 bad input (a flag, --out, the vocabulary, the data), 3 a bug.
`;

export interface PretrainOptions {
  /** The checkpoint directory (absolute). */
  out: string;
  maxSteps: number;
  minutes: number;
  batch: number;
  lr: number;
  warmup: number;
  every: number;
  layers: number;
  hidden: number;
  heads: number;
  ffn: number;
  seqLen: number;
  seed: number;
  backend: BackendRequest;
  threads: number;
  objective: Objective;
  /** Next-sentence prediction on (objective mlm+nsp). */
  nsp: boolean;
  dropout: number;
  /** --vocab as given (relative to the working directory), or undefined. */
  vocab: string | undefined;
  /** The command line, for the provenance. */
  argv: string[];
}

/** The options of a pre-training run, or 'help' when --help was asked for. Checks --out before anything is read. */
export function parsePretrainOptions(argv: string[]): PretrainOptions | 'help' {
  const a = parseFlags(argv, PRETRAIN_FLAGS);
  if (a.help) return 'help';
  const positiveInt = (flag: keyof typeof PRETRAIN_FLAGS): number => flagNumber(`--${flag}`, a[flag] as string, { integer: true, min: 1 });
  const batch = positiveInt('batch');
  const o: PretrainOptions = {
    out: resolve(a.out),
    maxSteps: positiveInt('max-steps'),
    minutes: flagNumber('--minutes', a.minutes, { above: 0 }),
    batch,
    lr: flagNumber('--lr', a.lr, { above: 0, below: 1 }),
    warmup: positiveInt('warmup'),
    every: positiveInt('every'),
    layers: positiveInt('layers'),
    hidden: positiveInt('hidden'),
    heads: positiveInt('heads'),
    ffn: positiveInt('ffn'),
    seqLen: flagNumber('--seq', a.seq, { integer: true, min: 8, max: 512 }),
    seed: positiveInt('seed'),
    backend: flagChoice('--backend', a.backend, BACKENDS),
    threads: flagNumber('--threads', a.threads, { integer: true, min: 1, max: batch }),
    objective: flagChoice('--objective', a.objective, OBJECTIVES),
    nsp: false,
    dropout: flagNumber('--dropout', a.dropout, { min: 0, below: 1 }),
    vocab: a.vocab,
    argv,
  };
  o.nsp = o.objective === 'mlm+nsp';
  if (o.hidden % o.heads !== 0) throw new UsageError('--heads', `must divide --hidden (${o.hidden})`, { value: a.heads });
  checkOutputDir(o.out, '--out');
  return o;
}
