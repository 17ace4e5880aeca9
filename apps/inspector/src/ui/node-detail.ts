/** Node detail panel: what the model knows about one node at the scrub position. */
import type { NodeDetail } from '../model/view-frame.js'
import { el, ms, relSeconds, shortId } from './format.js'

export function renderDetail(
  panel: HTMLElement,
  d: NodeDetail,
  tMs: number,
  startMs: number,
  onClose: () => void,
): void {
  const close = el('button', { class: 'close', title: 'close' }, '×')
  close.addEventListener('click', onClose)
  const rows: [string, string][] = [
    [
      'state',
      `${d.state}${d.crashed ? ' (process crashed)' : ''} since ${relSeconds(d.stateSinceMs, startMs)}`,
    ],
    ['shard', d.shard === null ? (d.observer ? 'observer' : '—') : String(d.shard)],
    ['role', `${d.role ?? '—'}${d.shardTerm ? `, term ${d.shardTerm}` : ''}`],
    ['priority', d.priority === null ? '—' : String(d.priority)],
    ['incarnation', String(d.incarnation)],
    ['addresses', d.addrs.length ? d.addrs.join(' ') : '—'],
    ['last heard', d.lastHeardMs <= tMs ? `${ms(tMs - d.lastHeardMs)} ago` : '—'],
    [
      'knows global leader',
      d.knownGlobalLeader ? `${shortId(d.knownGlobalLeader)} (term ${d.knownGlobalTerm})` : '—',
    ],
    [
      'knows shard leader',
      d.knownShardLeader ? `${shortId(d.knownShardLeader)} (term ${d.knownShardTerm})` : '—',
    ],
    [
      'lease left',
      d.globalLeaseLeftMs > 0
        ? `global ${ms(d.globalLeaseLeftMs)}`
        : d.shardLeaseLeftMs > 0
          ? `shard ${ms(d.shardLeaseLeftMs)}`
          : '—',
    ],
    ['suspected by', String(d.accusers)],
    ['local health', String(d.health)],
    ['rejected frames', String(d.rejections)],
  ]
  panel.replaceChildren(
    close,
    el('h3', {}, d.id),
    el('table', {}, ...rows.map(([k, v]) => el('tr', {}, el('td', {}, k), el('td', {}, v)))),
  )
  panel.classList.remove('hidden')
}
