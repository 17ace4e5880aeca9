/**
 * The browser UI is plain TypeScript (src/ui/) bundled in memory by esbuild when the server
 * starts (~50 ms): no build step, no dist folder to keep in sync, and the same sources serve the
 * tests, the demo and a developer.
 */
import { readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

export interface UiAssets {
  readonly html: string
  readonly js: string
  readonly css: string
}

const uiDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'ui')

export async function bundleUi(): Promise<UiAssets> {
  const result = await build({
    entryPoints: [join(uiDir, 'main.ts')],
    bundle: true,
    write: false,
    format: 'esm',
    target: 'es2022',
    minify: true,
    sourcemap: false,
    conditions: ['conclave-source'],
    logLevel: 'silent',
  })
  const js = result.outputFiles[0]?.text ?? ''
  const [html, css] = await Promise.all([
    readFile(join(uiDir, 'index.html'), 'utf8'),
    readFile(join(uiDir, 'style.css'), 'utf8'),
  ])
  return { html, js, css }
}
