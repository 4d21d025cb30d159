import { Agent, createRuntime, MemoryPostOffice } from '@mailroom/core';
import { type BenchResult, round } from './result.js';

const AGENTS = 10_000;
const SECONDS = 5;

const gc = () => (globalThis as { gc?: () => void }).gc?.();
const settle = () => new Promise((r) => setTimeout(r, 500));

/** The cost of idle agents: CPU while nothing happens, and heap per agent. */
export async function p4(): Promise<BenchResult> {
  const postOffice = new MemoryPostOffice();
  const ids = Array.from({ length: AGENTS }, (_, i) => `idle-${i}`);
  for (const id of ids) await postOffice.register({ agent_id: id });
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const runtime = createRuntime({ postOffice });
  class Idle extends Agent {}
  for (const id of ids) await runtime.spawn(new Idle(), { id });
  await settle(); // every agent has made its first poll
  gc();
  const heapMB = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const cpu = process.cpuUsage(cpu0);
  const wallMs = performance.now() - t0;
  await runtime.stop();
  const cpuPercent = ((cpu.user + cpu.system) / 1000 / wallMs) * 100;
  return {
    id: 'P4',
    name: `idle cost of ${AGENTS} agents for ${SECONDS} s (embedded post office)`,
    value: round(cpuPercent, 2),
    unit: 'CPU %',
    heapMB: round(heapMB, 1),
    heapKBPerAgent: round((heapMB * 1024) / AGENTS, 2),
    target: '≤ 1 % CPU and ≤ 64 MB heap',
  };
}
