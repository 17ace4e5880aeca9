import { defineConfig } from 'vitest/config'

// Resolve workspace packages to their TypeScript sources (the `conclave-source` export
// condition). Tests run in Vite's server (SSR) environment, whose conditions are set apart
// from the client's; keep the defaults and add ours.
const conditions = ['conclave-source', 'node', 'import', 'module', 'default']

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['conclave-source'] } },
  test: { include: ['src/**/*.test.ts'], testTimeout: 120_000 },
})
