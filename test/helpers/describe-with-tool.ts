/** `describe` for tests that need a program installed on the machine (redis-server, chromium). */
import { describe, it } from 'vitest';

const inCi = () => !['', '0', 'false', undefined].includes(process.env.CI?.toLowerCase());

/**
 * Runs `body` when `found`. Without the program the tests fail in CI (CI=true: .ci/run installs it, so a missing
 * program is an error to see), and elsewhere skip with the reason printed.
 */
export function describeWithTool(name: string, body: () => void, tool: { name: string; found: boolean; install: string }): void {
  if (tool.found) {
    describe(name, body);
  } else if (inCi()) {
    describe(name, () => {
      it(`needs ${tool.name}`, () => {
        throw new Error(`${tool.name} is missing: .ci/run installs it with apt-get (${tool.install})`);
      });
    });
  } else {
    console.warn(`skipping "${name}": ${tool.name} is not installed (${tool.install})`);
    describe.skip(name, body);
  }
}
