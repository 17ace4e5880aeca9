/** The libp2p protocol id of each protocol layer (one long-lived stream per peer and layer). */
import type { Layer } from '../sans-io.js'

export const PROTOCOLS: Readonly<Record<Layer, string>> = {
  membership: '/conclave/membership/1',
  shard: '/conclave/shard/1',
  global: '/conclave/global/1',
}

export const LAYERS: readonly Layer[] = ['membership', 'shard', 'global']

/** Gossipsub topics: leader announcements and the periodic status the inspector reads. */
export const TOPIC_LEADER = 'conclave/leader/1'
export const TOPIC_STATUS = 'conclave/status/1'
