/** Formatting helpers shared by the views. */

export function shortId(id: string | null | undefined): string {
  if (!id) return '—'
  return id.length > 10 ? `…${id.slice(-6)}` : id
}

/** Seconds since the start of the trace, e.g. "12.35 s". */
export function relSeconds(tMs: number, startMs: number): string {
  return `${((tMs - startMs) / 1000).toFixed(2)} s`
}

export function ms(value: number): string {
  return value >= 10_000 ? `${(value / 1000).toFixed(1)} s` : `${Math.round(value)} ms`
}

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v)
  node.append(...children)
  return node
}

export const COLORS = {
  alive: '#2f9e6e',
  suspect: '#e0a020',
  dead: '#d64545',
  left: '#a3a9b5',
  global: '#7c4dff',
  shard: '#1d2330',
  accent: '#3b6fe0',
  line: '#e3e6ec',
  muted: '#6b7385',
} as const

export const STATE_COLORS = [COLORS.alive, COLORS.suspect, COLORS.dead, COLORS.left] as const
