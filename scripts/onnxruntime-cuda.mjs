// Root postinstall. onnxruntime-node's own install script is denied in package.json "allowScripts": on Linux x64 it
// would download the CUDA execution provider (hundreds of MB, from outside the npm registry) on every install.
// The CPU provider ships inside the package, so a plain `npm ci` needs nothing more. A GPU box opts in with
// `ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci`: this script then runs onnxruntime-node's installer with that flag.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';

const flag = process.env.ONNXRUNTIME_NODE_INSTALL ?? process.env.npm_config_onnxruntime_node_install;
if (flag !== undefined && flag !== '' && flag !== 'skip') {
  const require = createRequire(import.meta.url);
  const installer = path.join(path.dirname(require.resolve('onnxruntime-node/package.json')), 'script', 'install.js');
  console.log(`onnxruntime-node: installing the "${flag}" binaries (ONNXRUNTIME_NODE_INSTALL)`);
  const run = spawnSync(process.execPath, [installer, `--onnxruntime-node-install=${flag}`], { stdio: 'inherit' });
  process.exit(run.status ?? 1);
}
