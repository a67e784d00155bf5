import t from 'tap'
import { runSoak } from '../bench/soak.ts'

// The short CI variant of the soak run (`npm run soak` is the long one, with the same code): the
// real server under 64 connections of mixed reads with concurrent writes for 4 s after a 1 s
// warm-up. Nothing here depends on timing: latency belongs in the report of `npm run soak`.

// Generous on purpose: 4 s on a shared machine, right after start-up, is too short for V8's heap
// to settle, and RSS moves with it; a leak under this load would show far above it.
const RSS_GROWTH_BOUND_MB = 40
// What the server still holds after a full garbage collection is not noisy: about 2 MB in CI runs
// (the kept answers filling); a leak of the mix would pass 10 MB within the run.
const RETAINED_GROWTH_BOUND_MB = 10

t.test('soak (short): no errors, every write ok, consistent data, no memory growth', async (t) => {
  const r = await runSoak({ durationS: 4, warmupS: 1, connections: 64, writeIntervalMs: 20, windowS: 4 })
  t.ok(r.requests > 0, `load was measured (${r.requests} requests)`)
  t.equal(r.errors.serverErrors, 0, 'no 5xx')
  t.equal(r.errors.total, 0, 'no errors: no transport errors or timeouts, every status 200 (304 where revalidating)')
  t.equal(r.warmupErrors, 0, 'no errors in the warm-up either')
  t.same(Object.keys(r.statuses).filter((s) => s !== '200' && s !== '304'), [], 'only 200 and 304')
  t.ok(r.notModified > 0, 'revalidating clients got 304s')
  for (const route of r.routes) t.equal(route.unexpected, 0, `${route.name}: no unexpected status`)
  t.equal(r.writes.failed, 0, `every write ok${r.writes.failures.length > 0 ? `: ${r.writes.failures.join('; ')}` : ''}`)
  for (const kind of r.writes.byKind) t.ok(kind.ok > 0, `${kind.kind}: ${kind.ok} ok`)
  for (const c of r.checks) t.ok(c.ok, `${c.name} (${c.detail})`)
  t.same(r.serverErrorLogLines, [], 'the server logged no errors')
  t.equal(r.serverExit, 0, 'the server stopped cleanly')
  t.ok(r.rss.samples.length >= 5, `RSS was sampled (${r.rss.samples.length} samples)`)
  t.ok(r.rss.endMb - r.rss.startMb < RSS_GROWTH_BOUND_MB,
    `RSS ${r.rss.startMb.toFixed(1)} MB after the warm-up, ${r.rss.endMb.toFixed(1)} MB at the end (bound +${RSS_GROWTH_BOUND_MB} MB)`)
  t.equal(r.heap.probes.length, 2, 'retained memory measured after the warm-up and at the end')
  t.ok(r.heap.retainedGrowthMb < RETAINED_GROWTH_BOUND_MB,
    `retained after a full GC grew ${r.heap.retainedGrowthMb.toFixed(1)} MB (bound +${RETAINED_GROWTH_BOUND_MB} MB)`)
  t.ok(r.heap.outsideHeapGrowthMb < RSS_GROWTH_BOUND_MB,
    `RSS outside the V8 heap grew ${r.heap.outsideHeapGrowthMb.toFixed(1)} MB (bound +${RSS_GROWTH_BOUND_MB} MB)`)
})
