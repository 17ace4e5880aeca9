import { defineConfig } from 'vitest/config'

export default defineConfig({
  resolve: { conditions: ['conclave-source'] },
  ssr: { resolve: { conditions: ['conclave-source'] } },
  test: { include: ['src/**/*.test.ts'], testTimeout: 120_000, hookTimeout: 120_000 },
})
