#!/usr/bin/env node
// The `conclave` command. Runs the TypeScript sources in-process (no build step, works on a fresh
// clone): a resolve hook adds the workspace's `conclave-source` export condition, then tsx
// compiles on the fly (cached on disk after the first start).
import { register } from 'node:module'
import { register as registerTsx } from 'tsx/esm/api'

register('./source-condition.mjs', import.meta.url)
registerTsx()
await import('../src/cli.ts')
