/**
 * A bare-machine run killed outright, scripts/private-services.mjs included (kill -9), leaves its
 * PostgreSQL and Redis running and its folder under TMPDIR behind; the next start stops those
 * servers (PostgreSQL held the data folder), removes the folder and starts with the data intact.
 */
import t from 'tap'
import { existsSync } from 'node:fs'
import postgres from 'postgres'
import { processAlive } from './helpers.ts'
import { adminUrl, assertStopped, bareMachine, startScripts } from './private-services.ts'

const { dataDir, PATH } = bareMachine(t)

t.test('a run killed outright, its helper too, leaves servers running: the next start stops them, removes its folder and starts afresh', async (t) => {
  const killed = await startScripts({ PATH, data: dataDir })
  const sql = postgres(adminUrl(killed.postgresUrl), { max: 1, onnotice: () => {} })
  try {
    await sql`create table kept (note text)`
    await sql`insert into kept values ('still here')`
  } finally {
    await sql.end({ timeout: 1 })
  }
  process.kill(killed.helperPid, 'SIGKILL') // nothing of ours runs any more: PostgreSQL and Redis are left behind
  killed.run.child.kill('SIGKILL')
  await killed.run.exited
  t.ok(processAlive(killed.postgresPid) && processAlive(killed.redisPid), 'PostgreSQL and Redis were left running')

  const next = await startScripts({ PATH, data: dataDir })
  t.notOk(processAlive(killed.postgresPid), 'the PostgreSQL left behind is stopped (it held the data folder)')
  t.notOk(processAlive(killed.redisPid), 'the Redis left behind is stopped')
  t.notOk(existsSync(killed.runDir), 'the killed run\'s folder is removed')
  const again = postgres(adminUrl(next.postgresUrl), { max: 1, onnotice: () => {} })
  try {
    t.same((await again<Array<{ note: string }>>`select note from kept`).map((r) => r.note), ['still here'], 'the data is intact')
  } finally {
    await again.end({ timeout: 1 })
  }
  next.run.child.stdin!.end()
  t.equal(await next.run.exited, 0)
  await assertStopped(t, next)
})
