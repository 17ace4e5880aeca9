/**
 * Fixed TCP ports for the test suites that start real nodes (LocalCluster needs them: every node
 * bootstraps through the first nodes' addresses, and a restarted node keeps its address).
 *
 * Guarantees:
 * - Every suite has its own block of ports (TEST_PORT_BLOCKS), disjoint from every other suite's
 *   and from the bench/demo/fuzz defaults (20000–22099, 25000–25199, 30000–32099), so two suites
 *   run at once (turbo, or two worktrees) never take each other's ports.
 * - All blocks lie in 10000–17999, below the kernel's ephemeral range (32768–60999 by default,
 *   /proc/sys/net/ipv4/ip_local_port_range): an outgoing connection's local port is never taken
 *   from there, so it cannot hold a node's listen port when the node starts.
 * - Within its block, a run takes the first slot (listen ports, then admin ports) whose ports can
 *   all be bound now, starting at one spread by the process id: two runs of the same suite (two
 *   worktrees) start at different slots and skip a slot the other holds.
 * - The probe and the node's own bind are not atomic: a port taken in between (another process,
 *   another run's node) makes that node fail at start with EADDRINUSE. `sparePort()` hands out
 *   other ports of the block, free when asked and never the same one twice in a run, and
 *   LocalCluster restarts such a node once on one (local-cluster.ts `spawnNode`).
 */
import { createServer } from 'node:net'

/** Each suite's block [first, first + size). Checked disjoint and below 32768 by test-ports.test.ts. */
export const TEST_PORT_BLOCKS = {
  'hang-watch-live': { first: 10_000, size: 1000 },
  cluster: { first: 11_000, size: 1000 },
  'conclave-cluster': { first: 12_000, size: 1000 },
  security: { first: 13_000, size: 1000 },
  'inspector-live-closed': { first: 14_000, size: 1000 },
  'inspector-live-e2e': { first: 15_000, size: 1000 },
  fuzz: { first: 16_000, size: 1000 },
  'local-cluster-ports': { first: 17_000, size: 1000 },
} as const

export type TestSuite = keyof typeof TEST_PORT_BLOCKS

export interface TestPorts {
  /** Node i listens on basePort + i. */
  basePort: number
  /** Node i serves admin HTTP on adminBasePort + i (= basePort + nodes). */
  adminBasePort: number
  /**
   * Another port of the block, outside the slot, free when asked and not handed out before by
   * this call of testPorts; undefined when none is. For a node whose port was taken after the probe.
   */
  sparePort(): Promise<number | undefined>
}

/**
 * Ports for `nodes` nodes of `suite`: a slot of 2 × nodes ports in the suite's block, the first
 * (from a pid-spread start, wrapping) whose ports are all free now. Throws if none is.
 */
export async function testPorts(
  suite: TestSuite,
  nodes: number,
  pid = process.pid,
  isFree: (port: number) => Promise<boolean> = canBind,
): Promise<TestPorts> {
  const block = TEST_PORT_BLOCKS[suite]
  const width = 2 * nodes
  const slots = Math.floor(block.size / width)
  if (slots < 1) throw new Error(`test ports: ${nodes} nodes do not fit the ${suite} block`)
  for (let k = 0; k < slots; k++) {
    const basePort = block.first + ((pid + k) % slots) * width
    let free = true
    for (let p = basePort; p < basePort + width && free; p++) free = await isFree(p)
    if (free)
      return { basePort, adminBasePort: basePort + nodes, sparePort: spares(block, basePort, width, isFree) }
  }
  throw new Error(`test ports: no free slot of ${width} ports in ${suite}'s block`)
}

/**
 * The block's ports after the slot `[slotFirst, slotFirst + width)`, wrapping, each offered once:
 * the next one that is free when asked. One pass over the block at most per call.
 */
function spares(
  block: { first: number; size: number },
  slotFirst: number,
  width: number,
  isFree: (port: number) => Promise<boolean>,
): () => Promise<number | undefined> {
  const candidates = block.size - width
  let offered = 0 // candidates looked at so far, in order
  return async () => {
    while (offered < candidates) {
      const off = (slotFirst - block.first + width + offered++) % block.size
      const port = block.first + off
      if (await isFree(port)) return port
    }
    return undefined
  }
}

/** Whether `port` on 127.0.0.1 can be listened on now (bound, then released at once). */
export function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)))
  })
}
