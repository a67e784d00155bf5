// Two server processes on one database file (a second instance behind a load balancer, a restart
// overlapping the old process): concurrent writes to both must keep the write rules that hold
// within one process. Requests are sent to both at the same moment, round after round.
import t from 'tap'
import { prepareDatabase, startServer } from './server-process.ts'

const ROUNDS = 8

t.test('two processes on one file: the same Idempotency-Key at once creates one record and never answers 500', async (t) => {
  const db = prepareDatabase()
  t.teardown(db.cleanup)
  // The first start seeds; the second starts on the seeded file.
  const first = await startServer({ databasePath: db.file })
  t.teardown(() => first.stop('SIGKILL'))
  const second = await startServer({ databasePath: db.file })
  t.teardown(() => second.stop('SIGKILL'))
  const headers = { authorization: `Bearer ${db.key}`, 'content-type': 'application/json' }
  const statuses = new Map<number, number>()
  for (let round = 0; round < ROUNDS; round++) {
    const body = JSON.stringify({ slug: `parallel-${round}`, labelDe: `Parallel ${round}`, labelEn: `Parallel ${round}`, description: 'Synthetic test entry.' })
    const key = `parallel-create-${round}`
    const answers = await Promise.all([first, second, first, second].map(async (server) => {
      const res = await fetch(`${server.url}/v1/target-groups`, { method: 'POST', headers: { ...headers, 'idempotency-key': key }, body })
      return { status: res.status, replayed: res.headers.get('idempotent-replayed'), body: await res.json() as { id?: string } }
    }))
    for (const answer of answers) statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1)
    t.same(answers.map((a) => a.status), [201, 201, 201, 201], `round ${round}: every request answered as the create`)
    t.equal(new Set(answers.map((a) => a.body.id)).size, 1, `round ${round}: one record`)
    t.equal(answers.filter((a) => a.replayed === null).length, 1, `round ${round}: one created, the others replayed`)
  }
  const list = await (await fetch(`${first.url}/v1/target-groups?limit=500`)).json() as { items: { slug: string }[] }
  t.equal(list.items.filter((g) => g.slug.startsWith('parallel-')).length, ROUNDS, 'one record per key in the database')
  t.comment(`statuses: ${[...statuses].map(([s, n]) => `${s}×${n}`).join(', ')}`)

  // The same ETag sent to both at once: exactly one write wins, the other gets 412.
  for (let round = 0; round < ROUNDS; round++) {
    const current = await fetch(`${first.url}/v1/target-groups/parallel-0`)
    const etag = current.headers.get('etag')!
    await current.arrayBuffer()
    const answers = await Promise.all([first, second].map(async (server, i) => {
      const res = await fetch(`${server.url}/v1/target-groups/parallel-0`, {
        method: 'PATCH',
        headers: { ...headers, 'content-type': 'application/merge-patch+json', 'if-match': etag },
        body: JSON.stringify({ description: `Round ${round}, process ${i}.` })
      })
      await res.arrayBuffer()
      return res.status
    }))
    t.same(answers.sort(), [200, 412], `round ${round}: one write wins`)
  }
  for (const server of [first, second]) t.notMatch(server.output(), /"level":(50|60)/, 'no error in the server log')
})
