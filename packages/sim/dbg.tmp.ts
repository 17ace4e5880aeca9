import { runMembershipScenario } from '@conclave/sim'
const [D, T] = [process.argv[2] ?? 'gvxx7E', process.argv[3] ?? 'TgkQ3B']
const r = runMembershipScenario({
  nodes: Number(process.argv[4] ?? 1000), seed: 1, scenario: 'partition',
  onSimulation: (sim) => {
    sim.onEvent((rec: any) => {
      const e = rec.event
      if (rec.trueMs < 12000) return
      if ((e.node?.endsWith(D) && e.member?.endsWith(T)) || (e.node?.endsWith(T) && (e.kind==='member:refute' || e.kind==='health:change')) || (e.node?.endsWith(D) && e.kind==='health:change'))
        console.log(rec.trueMs.toFixed(1), e.kind, e.node.slice(-6), e.member?.slice(-6), e.state, e.incarnation, e.via?.slice(-6), e.score)
    })
  },
})
console.log(r.healConvergeMs, r.falseDeaths, r.examples)
