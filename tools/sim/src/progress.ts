/**
 * A progress bar on stderr for long simulations: redrawn in place on a terminal, one line per
 * 10% otherwise, and at least one every 30 s of wall time (so CI logs show the run is alive
 * without filling up).
 */
import type { Io } from './commands/command.js'

const QUIET_LINE_EVERY_MS = 30_000

export class ProgressBar {
  private lastDecile = -1
  private lastLineAtMs = 0
  private drawn = false

  constructor(
    private readonly io: Io,
    private readonly label: string,
  ) {}

  update(fraction: number, detail: string): void {
    const f = Math.max(0, Math.min(1, fraction))
    if (this.io.errIsTTY) {
      const width = 30
      const full = Math.round(f * width)
      this.io.err(
        `\r${this.label} [${'#'.repeat(full)}${'.'.repeat(width - full)}] ${(f * 100).toFixed(0).padStart(3)}% ${detail}\x1b[K`,
      )
      this.drawn = true
      return
    }
    const decile = Math.floor(f * 10)
    const nowMs = performance.now()
    if (decile > this.lastDecile || nowMs - this.lastLineAtMs >= QUIET_LINE_EVERY_MS) {
      this.lastDecile = decile
      this.lastLineAtMs = nowMs
      this.io.err(`${this.label} ${(decile * 10).toString().padStart(3)}% ${detail}\n`)
    }
  }

  done(): void {
    if (this.drawn) this.io.err('\r\x1b[K')
    this.drawn = false
  }
}
