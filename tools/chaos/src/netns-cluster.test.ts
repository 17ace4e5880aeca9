/**
 * netns-cluster.ts: the `conclave start` flags each node gets; --tcp-rto-max-ms reaches every node
 * (its per-socket cap wins over the namespace sysctl the harness also sets), and only when given.
 */
import { describe, expect, it } from 'vitest'
import { NetnsCluster, type NetnsClusterInit } from './netns-cluster.js'

function cluster(extra: Partial<NetnsClusterInit>): NetnsCluster {
  const c = new NetnsCluster({
    nodes: 5,
    dir: '/nonexistent',
    seeds: 3,
    preset: 'local',
    breakRule: undefined,
    probeIntervalMs: 100,
    onSample() {},
    onLease() {},
    onProc() {},
    ...extra,
  })
  for (let i = 0; i < 5; i++) c.ids[i] = `peer-${i}`
  return c
}

const rtoFlags = (c: NetnsCluster) =>
  [...Array(5).keys()].map((i) => c.startArgs(i).filter((a) => a.startsWith('--tcp-rto-max-ms')))

describe('NetnsCluster.startArgs', () => {
  it('passes --tcp-rto-max-ms to every node, 0 included, and nothing when unset', () => {
    expect(rtoFlags(cluster({ tcpRtoMaxMs: 1000 }))).toEqual(Array(5).fill(['--tcp-rto-max-ms=1000']))
    expect(rtoFlags(cluster({ tcpRtoMaxMs: 0 }))).toEqual(Array(5).fill(['--tcp-rto-max-ms=0']))
    expect(rtoFlags(cluster({}))).toEqual(Array(5).fill([]))
  })

  it('starts `conclave start` in the slot namespace with the usual flags', () => {
    const args = cluster({ tcpRtoMaxMs: 2500 }).startArgs(4)
    expect(args.slice(0, 3)).toEqual(['netns', 'exec', expect.stringContaining('4')])
    expect(args).toContain('start')
    expect(args).toContain('--bootstrap-expect=5')
    expect(args.find((a) => a.startsWith('--bootstrap='))?.split(',')).toHaveLength(3)
  })
})
