import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { Value } from 'typebox/value'
import { agreements } from '../../src/db/schema.ts'
import { seedId } from '../../src/lib/uuid.ts'
import { AgreementInputSchema, AgreementPartyInputSchema } from '../../src/schemas/agreements.ts'
import { agreementWritableOf, partyWritableOf } from '../../src/repositories/agreements-repository.ts'
import { entityTag } from '../../src/routes/write-support.ts'
import { PROBLEM_JSON, bearer, buildTestApp, createKey, getJson, softDeleteFacility } from '../helper.ts'

const SLUG = 'kooperationsvereinbarung-2018'
const AGREEMENT_ID = seedId('agreement', SLUG)
const URL = `/v1/agreements/${SLUG}`
const KREATIVHAUS = seedId('facility', 'kreativhaus')
const partyId = (key: string) => seedId('agreement-party', `${SLUG}/${key}`)
const KREATIVHAUS_PARTY = partyId('kreativhaus')
const MOABIT_PARTY = partyId('stadtschloss-moabit')
const MERGE_PATCH = { 'content-type': 'application/merge-patch+json' }
// Well-formed, but no such key exists.
const UNKNOWN_KEY = `mpd_AAAAAAAAAA_${'a'.repeat(43)}`

const newParty = (facility = 'familienzentrum-moabit-ost') => ({
  role: 'facility',
  organisation: null,
  facility,
  name: 'Familienzentrum Moabit-Ost (Test)',
  confirmation: 'probable',
  evidence: 'Testeintrag: keine Quelle nennt die Einrichtung als Partnerin.',
  sources: [{ url: 'https://example.org/test', title: 'Test', facts: ['party'] }]
})

const etagOf = async (app: FastifyInstance, url: string) => String((await app.inject(url)).headers.etag)
const feedSince = async (app: FastifyInstance, since: number) =>
  (await getJson(app, `/v1/changes?since=${since}`)).body.items.map((c: any) => [c.entityType, c.entityId, c.action])
// Each failing field once, the innermost only: a nullable member of a patch also reports that it
// is not null, and so does the object around it.
function fieldsOf (res: { json: () => any }): string[] {
  const fields = [...new Set<string>(res.json().errors.map((e: any) => e.field))]
  return fields.filter((field) => !fields.some((other) => other.startsWith(`${field}.`))).sort()
}
const knownOf = async (app: FastifyInstance) => (await getJson(app, URL)).body.partnerCount.known

t.test('every seeded agreement and party validates as input, and PATCHing it unchanged writes nothing', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['admin'])
  const read = await app.inject(URL)
  const agreement = read.json()
  t.equal(read.headers.etag, entityTag(agreement), 'GET sends the ETag that writes compare')
  const writable = agreementWritableOf(agreement)
  t.ok(Value.Check(AgreementInputSchema, writable), [...Value.Errors(AgreementInputSchema, writable)].map((e) => `${e.instancePath} ${e.message}`).join('; '))
  t.equal(agreement.parties.length, 14)
  for (const party of agreement.parties) {
    const input = partyWritableOf(party)
    t.ok(Value.Check(AgreementPartyInputSchema, input), `${party.name}: ${[...Value.Errors(AgreementPartyInputSchema, input)].map((e) => `${e.instancePath} ${e.message}`).join('; ')}`)
    const one = await app.inject(`/v1/agreement-parties/${party.id}`)
    t.equal(one.statusCode, 200)
    t.equal(one.headers.etag, entityTag(one.json()), `${party.name}: GET sends the ETag that writes compare`)
    const { agreement: ref, createdAt, updatedAt, ...rest } = one.json()
    t.same(rest, party, 'the party on its own is the party of the agreement')
    t.same(ref, { id: AGREEMENT_ID, slug: SLUG, title: agreement.title })
  }
  const seq = app.dataVersion().seq
  const same = await app.inject({ method: 'PATCH', url: URL, headers: { ...bearer(key), 'if-match': String(read.headers.etag) }, payload: writable })
  t.equal(same.statusCode, 200)
  t.equal(same.headers.etag, read.headers.etag)
  t.same(same.json(), agreement)
  const party = await app.inject(`/v1/agreement-parties/${KREATIVHAUS_PARTY}`)
  const unchanged = await app.inject({ method: 'PATCH', url: `/v1/agreement-parties/${KREATIVHAUS_PARTY}`, headers: { ...bearer(key), 'if-match': String(party.headers.etag) }, payload: partyWritableOf(party.json()) })
  t.equal(unchanged.statusCode, 200)
  t.equal(unchanged.headers.etag, party.headers.etag)
  t.same(await feedSince(app, seq), [], 'no change, no feed entry')
  t.same((await getJson(app, `${URL}/history`)).body.items, [])
})

t.test('PATCH /v1/agreements/{idOrSlug} (200) merges, renames the slug, and is in the feed and the history', async (t) => {
  const app = await buildTestApp(t)
  const { key, id: keyId } = createKey(app, ['admin'], 'Bezirksamt Mitte SPK')
  const read = await app.inject(URL)
  const before = read.json()
  const seq = app.dataVersion().seq
  const patch = {
    slug: 'kooperationsvereinbarung-mitte-2018',
    signed: { note: 'Geändert im Test.' },
    statusNotes: ['Eine Notiz aus dem Test.'],
    outcome: { summary: 'Neue Bilanz aus dem Test.' },
    declaredPartnerCounts: [{ value: 19, note: 'Nur noch eine Zahl (Test).', sources: [{ facts: ['number'], title: 'Test', url: 'https://example.org/test' }] }]
  }
  const res = await app.inject({ method: 'PATCH', url: URL, headers: { ...bearer(key), ...MERGE_PATCH, 'if-match': String(read.headers.etag) }, payload: patch })
  t.equal(res.statusCode, 200)
  const body = res.json()
  t.equal(body.slug, 'kooperationsvereinbarung-mitte-2018')
  t.same(body.signed, { ...before.signed, note: 'Geändert im Test.' }, 'nested objects merge')
  t.same(body.statusNotes, ['Eine Notiz aus dem Test.'], 'arrays replace')
  t.same(body.outcome, { ...before.outcome, summary: 'Neue Bilanz aus dem Test.' })
  t.same(body.partnerCount.declared, [{ value: 19, note: 'Nur noch eine Zahl (Test).', sources: [{ url: 'https://example.org/test', title: 'Test', facts: ['number'] }] }], 'members in schema order, whatever the client sent')
  t.equal(body.partnerCount.summary, 'Laut Quellen 19 Einrichtungen; namentlich bekannt: 9 als Teilnehmende genannt, 3 wahrscheinlich.')
  t.same(body.parties, before.parties)
  t.ok(body.updatedAt > before.updatedAt)
  t.not(res.headers.etag, read.headers.etag)
  const again = await app.inject('/v1/agreements/kooperationsvereinbarung-mitte-2018')
  t.same(again.json(), body, 'stored as returned')
  t.equal(again.headers.etag, res.headers.etag, 'the ETag of the write is the ETag of a GET')
  t.equal((await app.inject(URL)).statusCode, 404, 'the old slug is gone')
  t.equal((await getJson(app, `/v1/agreements/${AGREEMENT_ID}`)).body.slug, 'kooperationsvereinbarung-mitte-2018')
  t.same(await feedSince(app, seq), [['agreement', AGREEMENT_ID, 'update']])
  const history = (await getJson(app, `/v1/agreements/${AGREEMENT_ID}/history`)).body
  t.equal(history.id, AGREEMENT_ID)
  t.equal(history.items.length, 1)
  const [entry] = history.items
  t.equal(entry.action, 'update')
  t.same(entry.actor, { keyId, name: 'Bezirksamt Mitte SPK' })
  t.same(Object.keys(entry.changes).sort(), ['declaredPartnerCounts', 'outcome', 'signed', 'slug', 'statusNotes'])
  t.same(entry.changes.slug, { old: SLUG, new: 'kooperationsvereinbarung-mitte-2018' })
  t.same(entry.changes.signed.old, before.signed)
  t.equal(entry.changes.signed.new.note, 'Geändert im Test.')
  t.same(entry.changes.statusNotes.new, ['Eine Notiz aus dem Test.'])
  t.equal(entry.changes.statusNotes.old.length, 4)
})

t.test('PATCH /v1/agreements/{idOrSlug} works with directory:write and clears nullable members with null', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['directory:write'])
  const res = await app.inject({ method: 'PATCH', url: URL, headers: { ...bearer(key), 'if-match': await etagOf(app, URL) }, payload: { titleNote: null, outcome: null, signed: { time: null } } })
  t.equal(res.statusCode, 200)
  t.equal(res.json().titleNote, null)
  t.equal(res.json().outcome, null)
  t.equal(res.json().signed.time, null)
  t.equal(res.json().signed.date, '2018-06-27')
  t.equal((await getJson(app, URL)).body.outcome, null)
})

t.test('PATCH /v1/agreements/{idOrSlug} needs a key (401) with admin or directory:write (403)', async (t) => {
  const app = await buildTestApp(t)
  const etag = await etagOf(app, URL)
  const send = (headers: Record<string, string>) => app.inject({ method: 'PATCH', url: URL, headers: { ...headers, 'if-match': etag }, payload: { summary: 'Versuch' } })
  const none = await send({})
  t.equal(none.statusCode, 401)
  t.equal(none.headers['content-type'], PROBLEM_JSON)
  t.equal(none.json().type, '/problems/api-key-required')
  const unknown = await send(bearer(UNKNOWN_KEY))
  t.equal(unknown.statusCode, 401)
  t.equal(unknown.json().type, '/problems/invalid-api-key')
  for (const scopes of [['contacts:read-internal'], [`facility:${KREATIVHAUS}:write`]]) {
    const { key } = createKey(app, scopes, 'Eingeschränkt')
    const res = await send(bearer(key))
    t.equal(res.statusCode, 403, scopes.join())
    t.equal(res.headers['content-type'], PROBLEM_JSON)
    t.equal(res.json().type, '/problems/insufficient-scope')
    t.match(res.json().detail, /'Eingeschränkt' may not change agreements \(needs admin or directory:write\)/)
  }
  t.equal(await etagOf(app, URL), etag, 'nothing was written')
})

t.test('PATCH /v1/agreements/{idOrSlug} needs If-Match (428), rejects a stale ETag (412), 404s unknown agreements', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['admin'])
  const etag = await etagOf(app, URL)
  const missing = await app.inject({ method: 'PATCH', url: URL, headers: bearer(key), payload: { summary: 'Neu' } })
  t.equal(missing.statusCode, 428)
  t.equal(missing.headers['content-type'], PROBLEM_JSON)
  t.equal(missing.json().type, '/problems/if-match-required')
  const stale = await app.inject({ method: 'PATCH', url: URL, headers: { ...bearer(key), 'if-match': '"stale"' }, payload: { summary: 'Neu' } })
  t.equal(stale.statusCode, 412)
  t.equal(stale.json().type, '/problems/stale-etag')
  t.equal(await etagOf(app, URL), etag, 'nothing was written')
  const unknown = await app.inject({ method: 'PATCH', url: '/v1/agreements/keine-vereinbarung', headers: { ...bearer(key), 'if-match': etag }, payload: { summary: 'Neu' } })
  t.equal(unknown.statusCode, 404)
  t.equal(unknown.headers['content-type'], PROBLEM_JSON)
})

t.test('PATCH /v1/agreements/{idOrSlug} (400) for malformed patches, (422) for an invalid merged record or a used slug', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['admin'])
  const etag = await etagOf(app, URL)
  const send = (payload: unknown) => app.inject({ method: 'PATCH', url: URL, headers: { ...bearer(key), 'if-match': etag }, payload: payload as object })
  const cases: [unknown, string[]][] = [
    [{ colour: 'blau' }, ['body.colour']],
    [{}, ['body']],
    [{ documentTextFound: 'ja', signed: { date: '27.06.2018' } }, ['body.documentTextFound', 'body.signed.date']],
    [{ signed: { time: '25:00' } }, ['body.signed.time']],
    [{ slug: 'Mit Leerzeichen' }, ['body.slug']]
  ]
  for (const [payload, fields] of cases) {
    const res = await send(payload)
    t.equal(res.statusCode, 400, JSON.stringify(payload))
    t.equal(res.headers['content-type'], PROBLEM_JSON)
    t.same(fieldsOf(res), fields, JSON.stringify(payload))
  }
  const merged = await send({ title: null, aims: null, outcome: { date: '2024-01-01' } })
  t.equal(merged.statusCode, 422, 'required members cannot be cleared; a partial outcome merges into the old one')
  t.equal(merged.headers['content-type'], PROBLEM_JSON)
  t.same(merged.json().errors.map((e: any) => e.field).sort(), ['body.aims', 'body.title'])
  const fresh = await send({ outcome: null })
  t.equal(fresh.statusCode, 200)
  const partial = await app.inject({ method: 'PATCH', url: URL, headers: { ...bearer(key), 'if-match': String(fresh.headers.etag) }, payload: { outcome: { date: '2024-01-01' } } })
  t.equal(partial.statusCode, 422, 'a new outcome needs all its members')
  t.same(partial.json().errors.map((e: any) => e.field), ['body.outcome'])
  app.db.insert(agreements).values({
    id: seedId('agreement', 'test-andere'), slug: 'test-andere', title: 'Testvereinbarung', summary: 'Testdatensatz', declaredPartnerCounts: [], aims: [], commitments: [], rationale: [], outcome: null, statusNotes: [], documentTextFound: false, signatoryListFound: false, sources: [], createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z'
  }).run()
  const taken = await app.inject({ method: 'PATCH', url: URL, headers: { ...bearer(key), 'if-match': String(fresh.headers.etag) }, payload: { slug: 'test-andere' } })
  t.equal(taken.statusCode, 422)
  t.same(taken.json().errors, [{ field: 'body.slug', message: `is already used by agreement ${seedId('agreement', 'test-andere')}` }])
  t.equal(await etagOf(app, URL), fresh.headers.etag, 'nothing was written')
})

t.test('POST /v1/agreements/{idOrSlug}/parties (201) adds a party: counts, agreement ETag, feed and history follow', async (t) => {
  const app = await buildTestApp(t)
  const { key, id: keyId } = createKey(app, ['admin'], 'Koordination')
  const agreementBefore = await app.inject(URL)
  const seq = app.dataVersion().seq
  const res = await app.inject({ method: 'POST', url: `${URL}/parties`, headers: bearer(key), payload: newParty() })
  t.equal(res.statusCode, 201)
  const party = res.json()
  t.equal(res.headers.location, `/v1/agreement-parties/${party.id}`)
  t.same(party.facility, { id: seedId('facility', 'familienzentrum-moabit-ost'), slug: 'familienzentrum-moabit-ost', name: party.facility.name })
  t.equal(party.organisation, null)
  t.same(party.agreement, { id: AGREEMENT_ID, slug: SLUG, title: agreementBefore.json().title })
  t.equal(party.confirmation, 'probable')
  const read = await app.inject(res.headers.location!)
  t.same(read.json(), party)
  t.equal(read.headers.etag, res.headers.etag, 'the ETag of the create is the ETag of a GET')
  const agreement = (await getJson(app, URL)).body
  t.ok(agreement.parties.some((p: any) => p.id === party.id))
  t.same(agreement.partnerCount.known, {
    total: 15,
    byConfirmation: { signatory: 2, named_participant: 9, probable: 4 },
    facilities: { total: 13, signatory: 0, named_participant: 9, probable: 4 }
  })
  t.equal(agreement.partnerCount.summary, 'Laut Quellen 19 bzw. 17 Einrichtungen; namentlich bekannt: 9 als Teilnehmende genannt, 4 wahrscheinlich.')
  t.ok(agreement.updatedAt > agreementBefore.json().updatedAt, 'the agreement changed with its parties')
  t.not(await etagOf(app, URL), agreementBefore.headers.etag)
  t.same(await feedSince(app, seq), [['agreement_party', party.id, 'create'], ['agreement', AGREEMENT_ID, 'update']])
  const history = (await getJson(app, `/v1/agreement-parties/${party.id}/history`)).body.items
  t.equal(history.length, 1)
  t.equal(history[0].action, 'create')
  t.same(history[0].actor, { keyId, name: 'Koordination' })
  t.same(history[0].changes.facility, { old: null, new: 'familienzentrum-moabit-ost' })
  t.same(history[0].changes.confirmation, { old: null, new: 'probable' })
  const quality = (await getJson(app, '/v1/data-quality')).body.agreements[0]
  t.equal(quality.evidence.length, 13)
  t.same(quality.unknownByName, [{ declared: 19, knownByName: 9, missing: 10 }, { declared: 17, knownByName: 9, missing: 8 }], 'probable partners are not known by name')
})

t.test('a probable facility that a source names: delete the probable party, add it as named participant; the counts and data-quality move', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['directory:write'])
  const duplicate = await app.inject({ method: 'POST', url: `${URL}/parties`, headers: bearer(key), payload: { ...newParty('stadtschloss-moabit'), confirmation: 'named_participant' } })
  t.equal(duplicate.statusCode, 422, 'a facility is a party once')
  t.same(duplicate.json().errors, [{ field: 'body.facility', message: `is already a party of this agreement (party ${MOABIT_PARTY})` }])
  const etag = await etagOf(app, `/v1/agreement-parties/${MOABIT_PARTY}`)
  t.equal((await app.inject({ method: 'DELETE', url: `/v1/agreement-parties/${MOABIT_PARTY}`, headers: { ...bearer(key), 'if-match': etag } })).statusCode, 204)
  t.same((await knownOf(app)).facilities, { total: 11, signatory: 0, named_participant: 9, probable: 2 })
  const named = await app.inject({
    method: 'POST',
    url: `/v1/agreements/${AGREEMENT_ID}/parties`,
    headers: bearer(key),
    payload: { ...newParty('stadtschloss-moabit'), name: 'Stadtschloss Moabit', confirmation: 'named_participant', evidence: 'Testeintrag: eine Quelle nennt es als Teilnehmer.' }
  })
  t.equal(named.statusCode, 201)
  const agreement = (await getJson(app, URL)).body
  t.same(agreement.partnerCount.known, {
    total: 14,
    byConfirmation: { signatory: 2, named_participant: 10, probable: 2 },
    facilities: { total: 12, signatory: 0, named_participant: 10, probable: 2 }
  })
  t.equal(agreement.partnerCount.summary, 'Laut Quellen 19 bzw. 17 Einrichtungen; namentlich bekannt: 10 als Teilnehmende genannt, 2 wahrscheinlich.')
  const moabit = agreement.parties.filter((p: any) => p.facility?.slug === 'stadtschloss-moabit')
  t.same(moabit.map((p: any) => [p.id, p.confirmation]), [[named.json().id, 'named_participant']])
  const quality = (await getJson(app, '/v1/data-quality')).body.agreements[0]
  t.same(quality.unknownByName, [{ declared: 19, knownByName: 10, missing: 9 }, { declared: 17, knownByName: 10, missing: 7 }])
  t.same(quality.partnerCount, agreement.partnerCount)
  t.ok(quality.evidence.some((e: any) => e.name === 'Stadtschloss Moabit' && e.confirmation === 'named_participant'))
})

t.test('PATCH /v1/agreement-parties/{id} (200) changes the confirmation; the agreement counts and ETag follow', async (t) => {
  const app = await buildTestApp(t)
  const { key, id: keyId } = createKey(app, ['admin'], 'Koordination')
  const url = `/v1/agreement-parties/${KREATIVHAUS_PARTY}`
  const agreementEtag = await etagOf(app, URL)
  const read = await app.inject(url)
  const before = read.json()
  t.equal((await app.inject({ method: 'PATCH', url, headers: { ...bearer(key), 'if-match': agreementEtag }, payload: { confirmation: 'signatory' } })).statusCode, 412, 'the agreement\'s ETag is not the party\'s')
  const seq = app.dataVersion().seq
  const patch = { confirmation: 'signatory', evidence: 'Testeintrag: eine Quelle sagt, es hat unterzeichnet.' }
  const res = await app.inject({ method: 'PATCH', url, headers: { ...bearer(key), ...MERGE_PATCH, 'if-match': String(read.headers.etag) }, payload: patch })
  t.equal(res.statusCode, 200)
  const party = res.json()
  t.equal(party.confirmation, 'signatory')
  t.same(party.facility, before.facility, 'members not in the patch stay')
  t.same(party.sources, before.sources)
  t.ok(party.updatedAt > before.updatedAt)
  const again = await app.inject(url)
  t.same(again.json(), party)
  t.equal(again.headers.etag, res.headers.etag)
  const agreement = (await getJson(app, URL)).body
  t.same(agreement.partnerCount.known.facilities, { total: 12, signatory: 1, named_participant: 8, probable: 3 })
  t.equal(agreement.partnerCount.summary, 'Laut Quellen 19 bzw. 17 Einrichtungen; namentlich bekannt: 1 als Unterzeichner belegt, 8 als Teilnehmende genannt, 3 wahrscheinlich.')
  t.equal(agreement.parties[2].id, KREATIVHAUS_PARTY, 'signatories come before named participants')
  t.equal(agreement.updatedAt, party.updatedAt, 'one transaction, one time')
  const stale = await app.inject({ method: 'PATCH', url: URL, headers: { ...bearer(key), 'if-match': agreementEtag }, payload: { summary: 'Neu' } })
  t.equal(stale.statusCode, 412, 'a party write changes the agreement\'s ETag')
  t.same(await feedSince(app, seq), [['agreement_party', KREATIVHAUS_PARTY, 'update'], ['agreement', AGREEMENT_ID, 'update']])
  const history = (await getJson(app, `${url}/history`)).body
  t.equal(history.id, KREATIVHAUS_PARTY)
  t.equal(history.items.length, 1)
  t.same(history.items[0].actor, { keyId, name: 'Koordination' })
  t.same(history.items[0].changes, {
    confirmation: { old: 'named_participant', new: 'signatory' },
    evidence: { old: before.evidence, new: patch.evidence }
  })
  t.same((await getJson(app, `${URL}/history`)).body.items, [], 'the agreement\'s own fields did not change')
})

t.test('party writes need a key (401) with admin or directory:write (403), and If-Match (428, 412)', async (t) => {
  const app = await buildTestApp(t)
  const url = `/v1/agreement-parties/${KREATIVHAUS_PARTY}`
  const etag = await etagOf(app, url)
  const writes = (headers: Record<string, string>) => [
    app.inject({ method: 'POST', url: `${URL}/parties`, headers, payload: newParty() }),
    app.inject({ method: 'PATCH', url, headers: { ...headers, 'if-match': etag }, payload: { name: 'Versuch' } }),
    app.inject({ method: 'DELETE', url, headers: { ...headers, 'if-match': etag } })
  ]
  for (const res of await Promise.all(writes({}))) {
    t.equal(res.statusCode, 401)
    t.equal(res.headers['content-type'], PROBLEM_JSON)
  }
  for (const res of await Promise.all(writes(bearer(UNKNOWN_KEY)))) t.equal(res.statusCode, 401)
  // A facility's own key may not touch its party either: the agreement is the district's record.
  for (const scopes of [['contacts:read-internal'], [`facility:${KREATIVHAUS}:write`]]) {
    const { key } = createKey(app, scopes)
    for (const res of await Promise.all(writes(bearer(key)))) {
      t.equal(res.statusCode, 403, scopes.join())
      t.equal(res.json().type, '/problems/insufficient-scope')
    }
  }
  const { key } = createKey(app, ['admin'])
  t.equal((await app.inject({ method: 'PATCH', url, headers: bearer(key), payload: { name: 'Versuch' } })).statusCode, 428)
  t.equal((await app.inject({ method: 'DELETE', url, headers: bearer(key) })).statusCode, 428)
  t.equal((await app.inject({ method: 'PATCH', url, headers: { ...bearer(key), 'if-match': '"alt"' }, payload: { name: 'Versuch' } })).statusCode, 412)
  t.equal((await app.inject({ method: 'DELETE', url, headers: { ...bearer(key), 'if-match': '"alt"' } })).statusCode, 412)
  t.equal(await etagOf(app, url), etag, 'nothing was written')
  t.equal((await knownOf(app)).total, 14)
})

t.test('party writes (422) check role, references and duplicates; (400) the schema; (404) unknown agreements and parties', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['admin'])
  const post = (payload: unknown, url = `${URL}/parties`) => app.inject({ method: 'POST', url, headers: bearer(key), payload: payload as object })
  const cases: [Record<string, unknown>, { field: string, message: string }[]][] = [
    [{ organisation: 'jobcenter-berlin-mitte' }, [{ field: 'body.organisation', message: 'must be null for the role facility (the party is the facility)' }]],
    [{ facility: null }, [{ field: 'body.facility', message: 'is required for the role facility' }]],
    [{ facility: 'keine-einrichtung' }, [{ field: 'body.facility', message: 'no facility \'keine-einrichtung\'' }]],
    [{ facility: 'kreativhaus' }, [{ field: 'body.facility', message: `is already a party of this agreement (party ${KREATIVHAUS_PARTY})` }]],
    [{ facility: KREATIVHAUS }, [{ field: 'body.facility', message: `is already a party of this agreement (party ${KREATIVHAUS_PARTY})` }]],
    [{ role: 'jobcenter', facility: 'kreativhaus' }, [
      { field: 'body.facility', message: 'must be null for the role jobcenter' },
      { field: 'body.organisation', message: 'is required for the role jobcenter' }
    ]],
    [{ role: 'jobcenter', facility: null, organisation: 'pfefferwerk' }, [{ field: 'body.organisation', message: 'is of kind operator, not jobcenter as the role says' }]],
    [{ role: 'district_office', facility: null, organisation: 'jobcenter-berlin-mitte' }, [{ field: 'body.organisation', message: 'is of kind jobcenter, not district_office as the role says' }]],
    [{ role: 'district_office', facility: null, organisation: 'keine-organisation' }, [{ field: 'body.organisation', message: 'no organisation \'keine-organisation\'' }]],
    [{ role: 'jobcenter', facility: null, organisation: 'jobcenter-berlin-mitte' }, [{ field: 'body.organisation', message: `is already a party of this agreement (party ${partyId('jobcenter-berlin-mitte')})` }]]
  ]
  for (const [change, errors] of cases) {
    const res = await post({ ...newParty(), ...change })
    t.equal(res.statusCode, 422, JSON.stringify(change))
    t.equal(res.headers['content-type'], PROBLEM_JSON)
    t.same(res.json().errors, errors, JSON.stringify(change))
  }
  const schema = await post({ ...newParty(), name: '', confirmation: 'vielleicht', role: undefined, extra: 1 })
  t.equal(schema.statusCode, 400)
  t.equal(schema.headers['content-type'], PROBLEM_JSON)
  t.same(fieldsOf(schema), ['body.confirmation', 'body.extra', 'body.name', 'body.role'])
  const unknownAgreement = await post(newParty(), '/v1/agreements/keine-vereinbarung/parties')
  t.equal(unknownAgreement.statusCode, 404)
  t.equal(unknownAgreement.headers['content-type'], PROBLEM_JSON)
  t.equal((await knownOf(app)).total, 14, 'nothing was written')
  const url = `/v1/agreement-parties/${KREATIVHAUS_PARTY}`
  const etag = await etagOf(app, url)
  const merged = await app.inject({ method: 'PATCH', url, headers: { ...bearer(key), 'if-match': etag }, payload: { facility: null, evidence: null } })
  t.equal(merged.statusCode, 422)
  t.same(merged.json().errors.map((e: any) => e.field), ['body.evidence'], 'the merged party is validated as a whole')
  const role = await app.inject({ method: 'PATCH', url, headers: { ...bearer(key), 'if-match': etag }, payload: { role: 'jobcenter' } })
  t.equal(role.statusCode, 422)
  t.same(role.json().errors.map((e: any) => e.field), ['body.facility', 'body.organisation'])
  t.equal(await etagOf(app, url), etag, 'nothing was written')
  for (const id of ['00000000-0000-4000-8000-000000000000', 'kreativhaus']) {
    t.equal((await app.inject(`/v1/agreement-parties/${id}`)).statusCode, 404)
    t.equal((await app.inject({ method: 'PATCH', url: `/v1/agreement-parties/${id}`, headers: { ...bearer(key), 'if-match': etag }, payload: { name: 'x' } })).statusCode, 404)
    t.equal((await app.inject(`/v1/agreement-parties/${id}/history`)).statusCode, 404)
  }
})

t.test('DELETE /v1/agreement-parties/{id} (204) removes the party; its history stays readable', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['admin'])
  const url = `/v1/agreement-parties/${KREATIVHAUS_PARTY}`
  const etag = await etagOf(app, url)
  const agreementBefore = (await getJson(app, URL)).body
  const seq = app.dataVersion().seq
  const res = await app.inject({ method: 'DELETE', url, headers: { ...bearer(key), 'if-match': etag } })
  t.equal(res.statusCode, 204)
  t.equal(res.body, '')
  t.equal((await app.inject(url)).statusCode, 404)
  t.equal((await app.inject({ method: 'DELETE', url, headers: { ...bearer(key), 'if-match': etag } })).statusCode, 404)
  const agreement = (await getJson(app, URL)).body
  t.notOk(agreement.parties.some((p: any) => p.id === KREATIVHAUS_PARTY))
  t.same(agreement.partnerCount.known.facilities, { total: 11, signatory: 0, named_participant: 8, probable: 3 })
  t.ok(agreement.updatedAt > agreementBefore.updatedAt)
  t.same(await feedSince(app, seq), [['agreement_party', KREATIVHAUS_PARTY, 'delete'], ['agreement', AGREEMENT_ID, 'update']])
  const history = (await getJson(app, `${url}/history`)).body.items
  t.equal(history.length, 1)
  t.equal(history[0].action, 'delete')
  t.same(history[0].changes.confirmation, { old: 'named_participant', new: null })
  t.equal((await getJson(app, '/v1/data-quality')).body.agreements[0].unknownByName[0].knownByName, 8)
})

t.test('POST /v1/agreements/{idOrSlug}/parties with Idempotency-Key returns the first result on retry', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['admin'])
  const headers = { ...bearer(key), 'idempotency-key': 'party-moabit-ost-1' }
  const first = await app.inject({ method: 'POST', url: `${URL}/parties`, headers, payload: newParty() })
  const retry = await app.inject({ method: 'POST', url: `${URL}/parties`, headers, payload: newParty() })
  t.equal(first.statusCode, 201)
  t.equal(retry.statusCode, 201)
  t.equal(retry.headers['idempotent-replayed'], 'true')
  t.equal(retry.json().id, first.json().id)
  t.equal(retry.headers.location, first.headers.location)
  t.equal(retry.headers.etag, first.headers.etag)
  t.equal((await knownOf(app)).total, 15, 'no duplicate')
  const other = await app.inject({ method: 'POST', url: `${URL}/parties`, headers, payload: newParty('begegnungsstaette-spandauer-strasse') })
  t.equal(other.statusCode, 422)
  t.equal(other.json().type, '/problems/idempotency-key-reused')
})

t.test('a party of a deleted facility is gone with it', async (t) => {
  const app = await buildTestApp(t)
  softDeleteFacility(app, KREATIVHAUS)
  t.equal((await app.inject(`/v1/agreement-parties/${KREATIVHAUS_PARTY}`)).statusCode, 404)
  t.equal((await app.inject(`/v1/agreement-parties/${KREATIVHAUS_PARTY}/history`)).statusCode, 200, 'its history stays readable')
})
