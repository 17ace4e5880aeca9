/**
 * An application that already runs libp2p and adds Conclave as a service — the embedding the
 * README documents. Used by embedding.test.ts (two of these processes elect one leader).
 * argv: dataDir port bootstrapExpect [bootstrap multiaddr]
 * Prints one JSON line per leader change on stdout: {leader, term, isSelf, id}.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { conclave, lanConclaveConfig, loadOrCreatePrivateKey } from '@conclave/core'
import { identify } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { createLibp2p } from 'libp2p'

const [dataDir, port, expect, boot] = process.argv.slice(2)
const node = await createLibp2p({
  privateKey: await loadOrCreatePrivateKey(dataDir as string),
  addresses: { listen: [`/ip4/127.0.0.1/tcp/${port}`] },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  services: {
    identify: identify(),
    conclave: conclave({
      dataDir: dataDir as string,
      bootstrapExpect: Number(expect),
      bootstrap: boot ? [boot] : [],
      config: lanConclaveConfig(),
    }),
  },
})
const id = node.peerId.toString()
node.services.conclave.addEventListener('leader:change', (e) =>
  process.stdout.write(`${JSON.stringify({ ...e.detail, id })}\n`),
)
process.stdout.write(`${JSON.stringify({ ready: true, id, addr: node.getMultiaddrs()[0]?.toString() })}\n`)
process.on('SIGTERM', async () => {
  await node.services.conclave.leave()
  await node.stop()
  process.exit(0)
})
