/** Timeline view: newest first, cluster-level entries highlighted, failovers with their duration. */
import type { ViewFrame } from '../model/view-frame.js'
import { el, ms, relSeconds } from './format.js'

const LABELS: Record<string, string> = {
  'global-leader': 'leader',
  'shard-leader': 'shard',
  election: 'election',
  failover: 'failover',
  suspect: 'suspect',
  dead: 'dead',
  left: 'left',
  join: 'join',
  rejoin: 'rejoin',
  refute: 'refute',
  fault: 'fault',
  shardmap: 'map',
  'lease-end': 'lease',
}

export function renderTimeline(
  list: HTMLOListElement,
  frame: ViewFrame,
  onSelect: (id: string) => void,
): void {
  const items = frame.timeline.map((e) => {
    const text = el('span', {}, el('span', { class: `k ${e.kind}` }, LABELS[e.kind] ?? e.kind), e.text)
    if (e.durationMs !== undefined) text.append(' ', el('span', { class: 'dur' }, ms(e.durationMs)))
    const li = el(
      'li',
      { class: `l${e.level}`, 'data-kind': e.kind },
      el('span', { class: 't' }, relSeconds(e.trueMs, frame.startMs)),
      text,
    )
    if (e.node) {
      const node = e.node
      li.style.cursor = 'pointer'
      li.addEventListener('click', () => onSelect(node))
    }
    return li
  })
  if (items.length === 0)
    items.push(el('li', {}, el('span', { class: 't' }, ''), el('span', { class: 'muted' }, 'nothing yet')))
  list.replaceChildren(...items)
}
