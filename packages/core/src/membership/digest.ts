/**
 * Anti-entropy digest: the member table split into buckets by id hash, each summarised by the
 * 32-bit sum of its entries' fingerprints. Sums are order-independent and updated in O(1) as
 * entries change, so a digest costs nothing to keep and two tables agree on a bucket exactly
 * when (barring a 2^-32 collision) they hold the same (id, bootEpoch, incarnation, rank) there.
 * Suspect counts as alive: suspicion is local and transient, and is not repaired by anti-entropy.
 */
export function fingerprint(idHash: number, bootEpoch: number, incarnation: number, rank: number): number {
  let h = idHash ^ Math.imul(bootEpoch + 1, 0x9e3779b1)
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b)
  h ^= Math.imul(incarnation + 1, 0xc2b2ae35)
  h = Math.imul(h ^ (h >>> 13), 0x27d4eb2f)
  h ^= rank + 1
  h = Math.imul(h ^ (h >>> 16), 0x165667b1)
  return (h ^ (h >>> 15)) >>> 0
}

export class Digest {
  readonly hashes: Uint32Array

  constructor(readonly buckets: number) {
    this.hashes = new Uint32Array(buckets)
  }

  bucketOf(idHash: number): number {
    return idHash % this.buckets
  }

  add(idHash: number, fp: number): void {
    const b = this.bucketOf(idHash)
    this.hashes[b] = ((this.hashes[b] as number) + fp) >>> 0
  }

  remove(idHash: number, fp: number): void {
    const b = this.bucketOf(idHash)
    this.hashes[b] = ((this.hashes[b] as number) - fp) >>> 0
  }

  /** Bucket indexes where `theirs` differs from ours. */
  mismatched(theirs: readonly number[]): number[] {
    const out: number[] = []
    for (let b = 0; b < this.buckets; b++) if (theirs[b] !== this.hashes[b]) out.push(b)
    return out
  }
}
