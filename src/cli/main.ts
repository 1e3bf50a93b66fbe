#!/usr/bin/env node
/**
 * The `controlnet-server` command (package.json `bin`; `npx tsx src/cli/main.ts` from the sources):
 *   controlnet-server serve [--role …]       the HTTP server, as `npm start`
 *   controlnet-server generate <input> […]   offline generation (generate-args.ts has the help)
 */
import { GENERATE_HELP, parseGenerateArgs, UsageError } from './generate-args.js';

const HELP = `usage: controlnet-server <command> [options]

Commands
  serve [--role api|worker|both]   start the HTTP server (as npm start; configured by the environment,
                                   see README "Configuration")
  generate <input> [options]       run contract request bodies (JSON or JSONL) in this process and write
                                   the PNGs to a folder; "controlnet-server generate --help" for more
  help                             this text
`;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function generate(argv: string[]): Promise<number> {
  const options = parseGenerateArgs(argv);
  if (options.help) {
    process.stdout.write(GENERATE_HELP);
    return 0;
  }
  process.once('SIGINT', () => {
    process.stderr.write('\ninterrupted: the lines finished so far are in results.jsonl\n');
    // Die of the signal at once (exit status 130): exiting while onnxruntime runs in the inference
    // thread would abort in its native teardown. results.jsonl is written line by line, synchronously.
    process.kill(process.pid, 'SIGINT');
  });
  // A reader that stops early (| head) closes stdout: the run goes on, results.jsonl gets every line.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
  const { runGenerate } = await import('./generate.js');
  return runGenerate(options, { stdout: process.stdout, stderr: process.stderr, readStdin });
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'generate':
      return generate(rest);
    case 'serve':
      // The server reads its flags (--role) from process.argv.
      process.argv.splice(2, 1);
      (await import('../main.js')).runMain();
      return -1;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(HELP);
      return command === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code < 0) return; // the server runs until it is stopped
    process.exitCode = code;
    // Everything is closed by now; should a handle linger, do not hang a batch script on it.
    setTimeout(() => process.exit(code), 5_000).unref();
  },
  (err: unknown) => {
    const usage = err instanceof UsageError;
    process.stderr.write(`controlnet-server: ${err instanceof Error ? err.message : String(err)}${usage ? ' (--help for usage)' : ''}\n`);
    process.exitCode = usage ? 2 : 1;
  },
);
