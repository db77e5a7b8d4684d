import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Where Debian's `prometheus` package puts promtool. */
export const DEBIAN_PROMTOOL = '/usr/bin/promtool';

/** promtool is not installed: the rule and dashboard checks cannot run without it. */
export class PromtoolMissingError extends Error {
  readonly code = 'PROMTOOL_MISSING';
  constructor() {
    super(`promtool not found at ${DEBIAN_PROMTOOL} or on PATH; install it with \`apt-get install prometheus\``);
    this.name = 'PromtoolMissingError';
  }
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The promtool to run: Debian's, else the first on PATH; throws PromtoolMissingError when neither exists. */
export function findPromtool(): string {
  if (isExecutable(DEBIAN_PROMTOOL)) return DEBIAN_PROMTOOL;
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir !== '' && isExecutable(join(dir, 'promtool'))) return join(dir, 'promtool');
  }
  throw new PromtoolMissingError();
}

/** What promtool said, and whether it exited 0. */
export interface PromtoolResult {
  readonly ok: boolean;
  /** stdout then stderr, for failure messages. */
  readonly output: string;
}

/** Runs promtool with `args`; a non-zero exit is a result (ok: false), a missing binary throws. */
export async function runPromtool(args: readonly string[], cwd?: string): Promise<PromtoolResult> {
  const promtool = findPromtool();
  try {
    const { stdout, stderr } = await run(promtool, [...args], { cwd, encoding: 'utf8', timeout: 30_000 });
    return { ok: true, output: `${stdout}${stderr}` };
  } catch (err) {
    const failure = err as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof failure.code !== 'number') throw err;
    return { ok: false, output: `${failure.stdout ?? ''}${failure.stderr ?? ''}` };
  }
}
