import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const tsc = fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url));

/** Runs `tsc -p project`; resolves '' when it exits 0, else what it said (and its exit code). */
export function runTsc(project: string): Promise<string> {
  return new Promise((resolve) => {
    execFile(process.execPath, [tsc, '-p', project], (err, stdout, stderr) => {
      resolve(err ? `exit ${err.code ?? err.message}\n${stdout}${stderr}` : '');
    });
  });
}
