export { Impairments, type Interval } from './impairment.js'
export { deadStaysDead, type FalseAlarmOptions, falseDeaths, falseSuspicions, short } from './membership.js'
export { type CheckContext, type Checker, checkContextOf, type Violation } from './types.js'
