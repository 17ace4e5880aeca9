/**
 * Every `pnpm sim` subcommand. To add one, write commands/<name>.ts exporting a `Command` and
 * list it here.
 */
import { baselineCommand } from './baseline.js'
import type { Command } from './command.js'
import { demoCommand } from './demo.js'
import { electionCommand } from './election.js'
import { membershipCommand } from './membership.js'
import { poolCommand } from './pool.js'
import { swarmCommand } from './swarm.js'
import { tableCommand } from './table.js'

export const commands: readonly Command[] = [
  membershipCommand,
  electionCommand,
  swarmCommand,
  baselineCommand,
  demoCommand,
  tableCommand,
  poolCommand,
]
