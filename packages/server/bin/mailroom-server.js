#!/usr/bin/env node
// The mailroom-server command (built from src/cli.ts by `pnpm build`).
import '../dist/cli.js';
