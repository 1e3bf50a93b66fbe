/** Command-line flags as the environment variables they set; flags win over the environment. */
const FLAGS: Record<string, string> = { '--role': 'ROLE' };

export function envFromArgs(argv: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (let k = 0; k < argv.length; k++) {
    const [flag, inline] = argv[k].split(/=(.*)/s, 2);
    const name = FLAGS[flag];
    if (!name) throw new Error(`unknown argument "${argv[k]}"; usage: main [--role api|worker|both]`);
    const value = inline ?? argv[++k];
    if (value === undefined || value.startsWith('--')) throw new Error(`${flag} needs a value, e.g. ${flag} worker`);
    env[name] = value;
  }
  return env;
}
