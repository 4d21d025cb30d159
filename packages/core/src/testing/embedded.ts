import { MemoryPostOffice } from '../post-office/memory/memory-post-office.js';
import { createRuntime, type Runtime, type RuntimeOptions } from '../runtime/runtime.js';
import { Recorder } from './recorder.js';

/**
 * A runtime on a fresh embedded post office with a `user` Recorder agent, for tests: the runtime
 * is pushed on `running` so that the test file's afterEach can stop it.
 */
export async function embeddedRuntime(running: Runtime[], options: Omit<RuntimeOptions, 'postOffice'> = {}) {
  const postOffice = new MemoryPostOffice();
  const runtime = createRuntime({ postOffice, ...options });
  running.push(runtime);
  const user = new Recorder();
  const userRef = await runtime.spawn(user, { id: 'user' });
  return { postOffice, runtime, user, userRef };
}
