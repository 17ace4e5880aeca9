/**
 * Everything a decoder can reject. Bad input from the network is expected, never a bug: a
 * decoder throws a WireError with a code, the caller counts it by code and moves on.
 */
export type WireErrorCode =
  | 'truncated' // the frame ended inside a field
  | 'oversized' // the frame, or a length or count inside it, is above its bound
  | 'bad-varint' // a varint longer than its width or not minimal
  | 'bad-version' // a protocol version we do not speak
  | 'unknown-type' // a message or field tag we do not know
  | 'bad-value' // a field outside its domain (bad enum, negative where unsigned, bad utf-8)
  | 'trailing-bytes' // bytes left after the message ended
  | 'bad-signature' // a signed claim that does not verify

export class WireError extends Error {
  override readonly name = 'WireError'
  constructor(
    readonly code: WireErrorCode,
    detail: string,
  ) {
    super(`${code}: ${detail}`)
  }
}

/** Counts rejections by code; every layer that decodes owns one and exports it as metrics. */
export class RejectionCounter {
  private readonly counts = new Map<string, number>()
  /** Sum of all counts, kept as they are added (read once per received frame by the runtime). */
  private sum = 0

  add(code: WireErrorCode | string): void {
    this.counts.set(code, (this.counts.get(code) ?? 0) + 1)
    this.sum++
  }

  get(code: string): number {
    return this.counts.get(code) ?? 0
  }

  /** All rejections counted so far, whatever the code (O(1)). */
  total(): number {
    return this.sum
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries(this.counts)
  }
}
