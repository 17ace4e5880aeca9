import { describe, expect, it } from 'vitest'
import { endpointKey, rtoExpiries, stalledRemotes, unansweredSyns } from './tcp-stalls.js'

// Lines as Linux 6.x prints them (trailing columns trimmed).
const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0FA1 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1677 1
   1: 0F004D0A:E798 12004D0A:0FA1 01 00000045:00000000 01:00000C8A 00000004     0        0 1 1
   2: 0F004D0A:A71C 0A004D0A:0FA1 01 00000000:00000000 00:00000000 00000000     0        0 2 1
   3: 0F004D0A:C3A8 0D004D0A:0FA1 01 00000020:00000000 01:0000002A 00000001     0        0 3 1
   4: 0F004D0A:D000 0E004D0A:0FA1 02 00000000:00000000 01:00000100 00000005     0        0 4 1`

describe('stalledRemotes', () => {
  it('lists established connections with at least N RTO expiries, by remote endpoint', () => {
    // 12004D0A = 10.77.0.18 (little-endian), port 0x0FA1 = 4001.
    expect(stalledRemotes(TCP, 3)).toEqual(['10.77.0.18:4001'])
    // One expiry (line 3) is ordinary loss; a SYN_SENT socket (st 02) is not a connection yet.
    expect(stalledRemotes(TCP, 1)).toEqual(['10.77.0.18:4001', '10.77.0.13:4001'])
    expect(stalledRemotes('', 1)).toEqual([])
    expect(stalledRemotes('garbage\n1 2 3', 1)).toEqual([])
  })

  it('lists dials whose SYN was retransmitted', () => {
    // Line 4: SYN_SENT to 10.77.0.14:4001 with 5 expiries.
    expect(unansweredSyns(TCP)).toEqual(['10.77.0.14:4001'])
    expect(unansweredSyns(TCP.replace('01:00000100 00000005', '01:00000100 00000000'))).toEqual([])
  })

  it('reads IPv6 and IPv4-mapped remotes; endpointKey names them the same way', () => {
    const v6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt
   0: 00000000000000000000000001000000:0FA1 00000000000000000000000001000000:8AE2 01 00000010:00000000 01:00000010 00000003
   1: 0000000000000000FFFF00000F004D0A:0FA1 0000000000000000FFFF00000A004D0A:9C40 01 00000010:00000000 01:00000010 00000007`
    expect(stalledRemotes(v6, 3)).toEqual([endpointKey('::1', 0x8ae2), endpointKey('10.77.0.10', 0x9c40)])
    expect(endpointKey('::1', 4001)).toBe('0:0:0:0:0:0:0:1:4001')
    expect(endpointKey('fe80::a:1', 1)).toBe('fe80:0:0:0:0:0:a:1:1')
  })
})

describe('rtoExpiries', () => {
  it('reads TCPTimeouts from the TcpExt: lines of /proc/net/netstat', () => {
    const netstat = [
      'TcpExt: SyncookiesSent SyncookiesRecv TW TCPTimeouts TCPLossProbes',
      'TcpExt: 0 0 118 7 746775',
      'IpExt: InNoRoutes InTruncatedPkts',
      'IpExt: 0 0',
    ].join('\n')
    expect(rtoExpiries(netstat)).toBe(7)
    expect(rtoExpiries('IpExt: InNoRoutes\nIpExt: 0')).toBeUndefined()
    expect(rtoExpiries('TcpExt: TW TCPTimeouts\nTcpExt: 1 x')).toBeUndefined()
  })
})
