import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAssignments, parseDockerfile, type Instruction } from './helpers/dockerfile.js';

const root = path.resolve(import.meta.dirname, '..');
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');
const instructions = parseDockerfile(read('Dockerfile.cuda'));
const packageJson = JSON.parse(read('package.json')) as {
  scripts: Record<string, string>;
  allowScripts: Record<string, boolean>;
};
const finalStage = Math.max(...instructions.map((i) => i.stage));
const inFinal = (keyword: string) => instructions.filter((i) => i.stage === finalStage && i.keyword === keyword);
const one = (list: Instruction[], what: string) => {
  expect(list, what).toHaveLength(1);
  return list[0]!;
};

describe('Dockerfile.cuda runtime stage', () => {
  it('runs the built server as a non-root user with the documented environment', () => {
    const user = inFinal('USER').at(-1)?.args;
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user);
    const env = Object.assign({}, ...inFinal('ENV').map((i) => parseAssignments(i.args))) as Record<string, string>;
    expect(env).toMatchObject({
      MODELS_DIR: '/models',
      DATA_DIR: '/data',
      HOST: '0.0.0.0',
      PORT: '7860',
      EXECUTION_PROVIDER: 'cuda',
    });
    expect(one(inFinal('EXPOSE'), 'EXPOSE').args).toBe(env.PORT);
    expect(JSON.parse(one(inFinal('VOLUME'), 'VOLUME').args)).toEqual(['/models', '/data']);
  });

  it('starts dist/scripts/start.js (the server after the tiny-model check), as `npm start` does', () => {
    const tsconfig = JSON.parse(read('tsconfig.json')) as { compilerOptions: { outDir: string; rootDir: string } };
    expect(tsconfig.compilerOptions.rootDir).toBe('.');
    const entry = path.posix.join(tsconfig.compilerOptions.outDir, 'scripts/start.js');
    expect(JSON.parse(one(inFinal('CMD'), 'CMD').args)).toEqual(['node', entry]);
    expect(packageJson.scripts.start).toBe(`node ${entry}`);
  });

  it('keeps only dist/, production node_modules and package.json (ESM "type") from the other stages', () => {
    const copies = inFinal('COPY').map((i) => i.args);
    expect(copies).toEqual(['--from=deps /app/node_modules ./node_modules', '--from=build /app/dist ./dist', 'package.json ./']);
    const fromStages = instructions.filter((i) => i.keyword === 'FROM').map((i) => i.args.split(/\s+AS\s+/i)[1]);
    expect(fromStages).toEqual(['node', 'build', 'deps', 'runtime']);
  });
});

describe('Dockerfile.cuda dependencies', () => {
  it('uses a CUDA 12 + cuDNN 9 runtime base', () => {
    const arg = parseAssignments(
      one(
        instructions.filter((i) => i.stage === -1 && i.keyword === 'ARG'),
        'ARG',
      ).args,
    );
    expect(arg.CUDA_IMAGE).toMatch(/^nvidia\/cuda:12\.\d+\.\d+-cudnn9?-runtime-ubuntu2[24]\.04$/);
    expect(instructions.find((i) => i.keyword === 'FROM')!.args).toBe('${CUDA_IMAGE} AS node');
  });

  it("installs production dependencies with onnxruntime-node's CUDA 12 binaries, through the root postinstall", () => {
    const deps = instructions.filter((i) => i.stage === 2 && i.keyword === 'RUN').map((i) => i.args);
    const install = deps.find((r) => r.includes('npm ci'));
    expect(install).toMatch(/ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci --omit=dev/);
    // npm 11 rejects --allow-scripts on a project install. package.json's allowScripts denies onnxruntime-node's
    // own script (a plain install must not download CUDA); the root postinstall runs it when the variable asks.
    expect(install).not.toMatch(/--allow-scripts/);
    expect(packageJson.allowScripts['onnxruntime-node']).toBe(false);
    expect(packageJson.scripts.postinstall).toBe('node scripts/onnxruntime-cuda.mjs');
    const copies = instructions.filter((i) => i.stage === 2 && i.keyword === 'COPY').map((i) => i.args);
    expect(copies).toContain('scripts/onnxruntime-cuda.mjs ./scripts/');
    expect(read('scripts/onnxruntime-cuda.mjs')).toMatch(/--onnxruntime-node-install=\$\{flag\}/);
    // The build checks for the CUDA provider where onnxruntime-node's install script writes it.
    const installJs = read('node_modules/onnxruntime-node/script/install.js');
    const binFolder = /path\.join\(__dirname, '\.\.', '([^']+)', PLATFORM\)/.exec(installJs)?.[1];
    const metadata = createRequire(path.join(root, 'package.json'))('onnxruntime-node/script/install-metadata.js') as {
      manifests: Record<string, Record<string, unknown>>;
    };
    const manifest = metadata.manifests['linux/x64:cuda12'];
    expect(binFolder).toBeDefined();
    expect(Object.keys(manifest ?? {})).toContain('./libonnxruntime_providers_cuda.so');
    expect(install).toContain(`test -f node_modules/onnxruntime-node/${binFolder}/linux/x64/libonnxruntime_providers_cuda.so`);
  });

  it('keeps models, data and node_modules out of the build context', () => {
    const ignored = read('.dockerignore')
      .split(/\r?\n/)
      .filter((l) => l && !l.startsWith('#'));
    expect(ignored).toEqual(expect.arrayContaining(['models', 'data', 'node_modules', 'dist', '.git']));
  });
});

describe('Dockerfile.cuda HEALTHCHECK', () => {
  const run = promisify(execFile);
  const check = JSON.parse(
    one(
      instructions.filter((i) => i.keyword === 'HEALTHCHECK'),
      'HEALTHCHECK',
    ).args.replace(/^.*?CMD\s+/, ''),
  ) as string[];
  let status = 200;
  const seen: string[] = [];
  let server: Server;
  let port = 0;

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(req.url ?? '');
      res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const exitCode = async (env: NodeJS.ProcessEnv) => {
    expect(check[0]).toBe('node');
    try {
      await run(process.execPath, check.slice(1), { env: { ...process.env, ...env }, timeout: 10_000 });
      return 0;
    } catch (error) {
      return (error as { code?: number }).code;
    }
  };

  it('exits 0 when /healthz answers 200 on $PORT', async () => {
    status = 200;
    expect(await exitCode({ PORT: String(port) })).toBe(0);
    expect(seen.at(-1)).toBe('/healthz');
  });

  it('exits 1 when /healthz answers an error or nothing listens', async () => {
    status = 503;
    expect(await exitCode({ PORT: String(port) })).toBe(1);
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const unused = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    expect(await exitCode({ PORT: String(unused) })).toBe(1);
  });
});
