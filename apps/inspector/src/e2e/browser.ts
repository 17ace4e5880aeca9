/**
 * Headless Chromium for the end-to-end tests: Debian's /usr/bin/chromium driven by
 * playwright-core (which never downloads a browser), installed on demand by
 * scripts/ensure-chromium.sh. Screenshots go to <repo>/artifacts/screenshots/.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type Browser, chromium, type Page } from 'playwright-core'

const appDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const SCREENSHOT_DIR = join(appDir, '..', '..', 'artifacts', 'screenshots')

export async function launchChromium(): Promise<Browser> {
  execFileSync('bash', [join(appDir, 'scripts', 'ensure-chromium.sh')], { stdio: 'inherit' })
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  })
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true })
  const path = join(SCREENSHOT_DIR, name)
  await page.screenshot({ path })
  return path
}

/** Waits until the page has drawn the frame for true time tMs (body[data-t-ms]). */
export async function waitForFrameAt(page: Page, tMs: number): Promise<void> {
  await page.waitForFunction((t) => document.body.dataset.tMs === String(t), tMs, { timeout: 20_000 })
}

/** Moves the scrubber to `fraction` of the trace, as a user dragging it would (input events). */
export async function scrubTo(page: Page, fraction: number): Promise<void> {
  await page.$eval(
    '#scrubber',
    (input, v) => {
      const el = input as HTMLInputElement
      el.value = String(v)
      el.dispatchEvent(new Event('input', { bubbles: true }))
    },
    Math.round(fraction * 1000),
  )
}
