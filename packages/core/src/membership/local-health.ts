/**
 * Lifeguard local health multiplier (Lifeguard §4.1 "LHM", memberlist awareness.go).
 *
 * A score in [0, max]. It rises when this node shows signs of being the slow one (a failed
 * probe, expected nacks that never came, having to refute a suspicion of itself, a process
 * stall) and falls by one per successful probe. Timeouts and the probe interval are stretched by
 * (1 + score), so a struggling node slows down instead of accusing healthy peers.
 */
export class LocalHealth {
  private value = 0

  constructor(private readonly max: number) {}

  get score(): number {
    return this.value
  }

  /** Adds delta (clamped to [0, max]); true when the score changed. */
  apply(delta: number): boolean {
    const next = Math.min(this.max, Math.max(0, this.value + delta))
    if (next === this.value) return false
    this.value = next
    return true
  }

  /** ms stretched by the current health. */
  scale(ms: number): number {
    return ms * (1 + this.value)
  }
}
