import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { importCycles, importsOf, layerViolations } from './support/layers.js';

const core = fileURLToPath(new URL('../packages/core/src', import.meta.url));

describe('the layers of @mailroom/core', () => {
  const edges = importsOf(core);

  it('finds the imports it checks (type imports included)', () => {
    expect(edges.length).toBeGreaterThan(100);
    expect(edges.some((e) => e.typeOnly)).toBe(true);
  });

  it('no folder imports from a layer above it or beside it', () => {
    expect(layerViolations(edges)).toEqual([]);
  });

  it('no file imports itself through others', () => {
    expect(importCycles(edges)).toEqual([]);
  });

  it('the check fails when a lower layer imports a higher one, a sibling, or testing/', () => {
    const bad = [
      { from: 'wire/model.ts', to: 'agents/agent.ts', typeOnly: true },
      { from: 'inbox/inbox-stream.ts', to: 'outbox/send-scheduler.ts', typeOnly: false },
      { from: 'agents/agent.ts', to: 'testing/virtual-time.ts', typeOnly: false },
      { from: 'agents/agent.ts', to: 'nowhere/x.ts', typeOnly: false },
    ];
    expect(layerViolations(bad)).toEqual([
      'wire/model.ts (wire) imports agents/agent.ts (agents), a higher layer',
      'inbox/inbox-stream.ts (inbox) imports outbox/send-scheduler.ts (outbox), a sibling layer',
      'agents/agent.ts imports testing/virtual-time.ts: only tests and entry points use testing/',
      'agents/agent.ts imports nowhere/x.ts: nowhere is in no layer',
    ]);
    expect(
      importCycles([
        { from: 'a.ts', to: 'b.ts', typeOnly: true },
        { from: 'b.ts', to: 'a.ts', typeOnly: false },
      ]),
    ).toEqual(['a.ts → b.ts → a.ts']);
  });
});
