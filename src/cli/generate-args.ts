import { parseArgs } from 'node:util';

/** A mistake in the command line itself: printed with a pointer to --help, exit code 2. */
export class UsageError extends Error {}

export interface GenerateOptions {
  /** A file path, or "-" for stdin. */
  input: string;
  out: string;
  /** undefined: MODELS_DIR, else ./models. */
  models?: string;
  /** undefined: THREADS, else onnxruntime's choice. */
  threads?: number;
  /** undefined: EXECUTION_PROVIDER, else cpu. */
  provider?: string;
  failFast: boolean;
  progress: 'auto' | 'bar' | 'plain' | 'none';
  verbose: boolean;
  help: boolean;
}

export const GENERATE_HELP = `usage: controlnet-server generate <request.json | requests.jsonl | -> [options]

Runs contract request bodies (the JSON of POST /api/v1/enterprise/controlnet) in this process, with
the server's validation and pipeline, and writes the images to a folder. No server, no API key.

Input
  A file holding one request body (a JSON object, pretty-printed or not), or JSONL: one body per
  line (blank lines are skipped). "-" reads stdin. Each line runs on its own: a bad line gets an
  error in the results and the next line still runs.
  init_image, control_image, control_images and mask_image take what the server takes (http(s)
  URLs, data: URIs, base64) and also local files: a path or a file: URL. Relative paths are read
  from the input file's folder (from the current folder when the input is stdin).

Output (in --out)
  <line>-<n>.png       the images of each line (line number zero-padded to 4 digits, n = sample)
  results.jsonl        one JSON line per input line, in order:
                         {"line","status":"success","id","generationTime","output":[absolute paths],
                          "meta","warnings"}   or   {"line","status":"error","message"}
  The same lines go to stdout unless it is a terminal. Progress goes to stderr: a redrawn bar on a
  terminal (requests done, step of the current one, ETA), plain lines otherwise.

Options
  --out DIR            output folder (created if missing; files of the same name are replaced)  [out]
  --models DIR         models folder                                      [$MODELS_DIR, else models]
  --threads N          onnxruntime intra-op threads, 0 = onnxruntime's choice      [$THREADS, else 0]
  --provider LIST      execution providers in order of preference (cuda, tensorrt, webgpu, cpu)
                                                                    [$EXECUTION_PROVIDER, else cpu]
  --fail-fast          stop at the first failed line (the lines after it are "skipped")
  --progress MODE      auto, bar, plain or none                                              [auto]
  --verbose            also show the inference thread's session lines (which provider runs what)
  -h, --help           this text

Fields about delivery (webhook, instant_response, temp) do not apply here: they are listed in
"warnings". Exit code: 0 when every line succeeded, 1 when any failed, 2 for a usage error.
Ctrl-C stops at once (the line running is lost); results.jsonl keeps the lines finished before it.
`;

export function parseGenerateArgs(argv: readonly string[]): GenerateOptions {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    throw new UsageError(`${(err as Error).message}`);
  }
  const { values, positionals } = parsed;
  if (values.help) return { ...defaults(''), help: true };
  if (positionals.length === 0) throw new UsageError('give the request file (JSON or JSONL), or - to read stdin');
  if (positionals.length > 1) throw new UsageError(`one input at a time, got ${positionals.length}: ${positionals.join(' ')}`);
  const options = defaults(positionals[0]);
  if (values.out !== undefined) options.out = nonEmpty('--out', values.out);
  if (values.models !== undefined) options.models = nonEmpty('--models', values.models);
  if (values.provider !== undefined) options.provider = nonEmpty('--provider', values.provider);
  if (values.threads !== undefined) {
    const n = Number(values.threads);
    if (values.threads.trim() === '' || !Number.isInteger(n) || n < 0 || n > 1024) {
      throw new UsageError(`--threads must be an integer from 0 to 1024, got "${values.threads}"`);
    }
    options.threads = n;
  }
  if (values.progress !== undefined) {
    if (!['auto', 'bar', 'plain', 'none'].includes(values.progress)) {
      throw new UsageError(`--progress must be auto, bar, plain or none, got "${values.progress}"`);
    }
    options.progress = values.progress as GenerateOptions['progress'];
  }
  options.failFast = values['fail-fast'] === true;
  options.verbose = values.verbose === true;
  return options;
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      out: { type: 'string' },
      models: { type: 'string' },
      threads: { type: 'string' },
      provider: { type: 'string' },
      progress: { type: 'string' },
      'fail-fast': { type: 'boolean' },
      verbose: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

function defaults(input: string): GenerateOptions {
  return { input, out: 'out', failFast: false, progress: 'auto', verbose: false, help: false };
}

function nonEmpty(flag: string, value: string): string {
  if (value.trim() === '') throw new UsageError(`${flag} needs a value`);
  return value;
}
