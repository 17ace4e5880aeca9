/**
 * Network faults as pure data: which node stops receiving packets from which, and where packets
 * are lost at random. Every fault is a set of (from → to) drops that `to` enforces with an
 * iptables INPUT rule inside its own network namespace; the rules of all active faults are
 * merged, so partitions, one-way cuts and loss overlap freely. The fenced resource's address is
 * always accepted first: faults cut nodes off from each other, never from the resource.
 */

export interface NetFault {
  /** Pairs [from, to]: `to` drops every packet from `from`. */
  drops: Array<[number, number]>
  /** Random loss into these nodes from every other node. */
  loss?: { nodes: number[]; probability: number }
}

/** Complete cut between every two sides (nodes in no side are not affected). */
export function partition(sides: number[][]): NetFault {
  const drops: Array<[number, number]> = []
  for (let a = 0; a < sides.length; a++)
    for (let b = 0; b < sides.length; b++) {
      if (a === b) continue
      for (const from of sides[a] as number[]) for (const to of sides[b] as number[]) drops.push([from, to])
    }
  return { drops }
}

/** The nodes in `side` versus everyone else in 0..n-1. */
export function split(side: number[], n: number): NetFault {
  const rest = [...Array(n).keys()].filter((i) => !side.includes(i))
  return partition([side, rest])
}

/** order[0] is the bridge: it hears both halves, which do not hear each other (Jepsen's bridge). */
export function bridge(order: number[]): NetFault {
  const [, ...others] = order
  const half = Math.floor(others.length / 2)
  return partition([others.slice(0, half), others.slice(half)])
}

/**
 * Majorities ring (Jepsen): nodes in a ring, each hears only its neighbours within distance m,
 * where 2m+1 is a bare majority: every node sees a majority, no two see the same one.
 */
export function ring(order: number[]): NetFault {
  const n = order.length
  const m = Math.ceil(Math.floor(n / 2) / 2)
  const drops: Array<[number, number]> = []
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      const d = Math.min(Math.abs(i - j), n - Math.abs(i - j))
      if (d > m) drops.push([order[j] as number, order[i] as number])
    }
  return { drops }
}

/**
 * The groups of nodes that can still talk under one fault's drops, for TCP: two nodes are linked
 * only if neither drops the other's packets (an INPUT DROP also drops the ACKs of the node's own
 * segments, so a one-way cut is a full cut for TCP). Other active faults only remove more links,
 * so a node cut off from a quorum by this fault alone stays cut off while it lasts. Sorted.
 */
export function components(n: number, fault: NetFault): number[][] {
  const dropped = new Set(fault.drops.map(([a, b]) => a * n + b))
  const parent = [...Array(n).keys()]
  const find = (x: number): number => {
    while (parent[x] !== x) x = parent[x] as number
    return x
  }
  for (let a = 0; a < n; a++)
    for (let b = a + 1; b < n; b++)
      if (!dropped.has(a * n + b) && !dropped.has(b * n + a)) parent[find(a)] = find(b)
  const groups = new Map<number, number[]>()
  for (let i = 0; i < n; i++) {
    const r = find(i)
    groups.set(r, [...(groups.get(r) ?? []), i])
  }
  return [...groups.values()].sort((x, y) => (x[0] as number) - (y[0] as number))
}

/** Everyone else stops receiving from `side`; `side` still hears everyone. */
export function oneWay(side: number[], n: number): NetFault {
  const drops: Array<[number, number]> = []
  for (let to = 0; to < n; to++) if (!side.includes(to)) for (const from of side) drops.push([from, to])
  return { drops }
}

export function loss(nodes: number[], probability: number): NetFault {
  return { drops: [], loss: { nodes, probability } }
}

/**
 * The iptables-restore input for node `node`'s namespace under all active faults: accept the
 * resource, drop from each cut peer, then random loss (the highest active probability).
 */
export function rulesFor(
  node: number,
  faults: Iterable<NetFault>,
  ipOf: (i: number) => string,
  resourceIp: string,
  subnet: string,
): string {
  const dropFrom = new Set<number>()
  let p = 0
  for (const f of faults) {
    for (const [from, to] of f.drops) if (to === node && from !== node) dropFrom.add(from)
    if (f.loss?.nodes.includes(node)) p = Math.max(p, f.loss.probability)
  }
  const lines = ['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]']
  lines.push(`-A INPUT -s ${resourceIp}/32 -j ACCEPT`)
  for (const from of [...dropFrom].sort((a, b) => a - b)) lines.push(`-A INPUT -s ${ipOf(from)}/32 -j DROP`)
  if (p > 0)
    lines.push(`-A INPUT -s ${subnet} -m statistic --mode random --probability ${p.toFixed(4)} -j DROP`)
  lines.push('COMMIT', '')
  return lines.join('\n')
}
