// Checks the hand-written seed files in seed/data/ against the TypeBox seed schemas and
// against each other. Run: npx tsx seed/validate-data.ts (SEED_DATA_DIR overrides seed/data/).
// If ../shared/data/partners-research.json (or $RESEARCH_FILE) exists, the files are also
// compared with the research (every facility present, one service per research offer).
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Type, type Static, type TSchema } from 'typebox'
import { Value } from 'typebox/value'
import {
  SeedAgreement, SeedContact, SeedFacility, SeedOrganisation, SeedSourceCatalogue, SeedSourceRef, SeedVocabularyEntry
} from './seed-schema.ts'

const dataDir = process.env.SEED_DATA_DIR ?? fileURLToPath(new URL('./data/', import.meta.url))
const researchFile = process.env.RESEARCH_FILE ??
  fileURLToPath(new URL('../../shared/data/partners-research.json', import.meta.url))

const problems: string[] = []
const fail = (msg: string) => problems.push(msg)

function load<T extends TSchema> (file: string, schema: T): Static<T> {
  const data: unknown = JSON.parse(readFileSync(join(dataDir, file), 'utf8'))
  if (!Value.Check(schema, data)) {
    for (const e of Value.Errors(schema, data).slice(0, 20)) {
      fail(`${file}${e.instancePath}: ${e.message}`)
    }
  }
  return data as Static<T>
}

const sources = load('sources.json', SeedSourceCatalogue)
const categories = load('categories.json', Type.Array(SeedVocabularyEntry))
const targetGroups = load('target-groups.json', Type.Array(SeedVocabularyEntry))
const organisations = load('organisations.json', Type.Array(SeedOrganisation))
const facilities = load('facilities.json', Type.Array(SeedFacility))
const contacts = load('contacts.json', Type.Array(SeedContact))
const agreement = load('agreement.json', SeedAgreement)

if (problems.length > 0) finish()

// --- uniqueness --------------------------------------------------------------
function unique (what: string, values: string[]) {
  const seen = new Set<string>()
  for (const v of values) {
    if (seen.has(v)) fail(`duplicate ${what}: ${v}`)
    seen.add(v)
  }
  return seen
}

const categorySlugs = unique('category slug', categories.map((c) => c.slug))
const groupSlugs = unique('target group slug', targetGroups.map((g) => g.slug))
const orgSlugs = unique('organisation slug', organisations.map((o) => o.slug))
unique('unit slug', organisations.flatMap((o) => o.units.map((u) => u.slug)))
const siteSlugs = unique('site slug', organisations.flatMap((o) => o.sites.map((s) => s.slug)))
const facilitySlugs = unique('facility slug', facilities.map((f) => f.slug))
unique('contact key', contacts.map((c) => c.key))
unique('party key', agreement.parties.map((p) => p.key))
unique('event slug', agreement.events.map((e) => e.slug))
unique('source url', Object.values(sources).map((s) => s.url))

const expectedCategories = ['beratung', 'bildung', 'begegnung', 'familie', 'gesundheit', 'ehrenamt',
  'arbeit-und-beruf', 'kultur', 'selbsthilfe', 'kinder-und-jugend', 'bewegung-und-sport', 'stadtteilarbeit', 'alltagshilfe']
if ([...categorySlugs].sort().join() !== [...expectedCategories].sort().join()) {
  fail(`categories.json must contain exactly: ${expectedCategories.join(', ')}`)
}

// --- references --------------------------------------------------------------
const usedSources = new Set<string>()
function checkSources (where: string, refs: Static<typeof SeedSourceRef>[]) {
  unique(`source in ${where}`, refs.map((r) => r.source))
  for (const r of refs) {
    if (!(r.source in sources)) fail(`${where}: unknown source "${r.source}"`)
    usedSources.add(r.source)
  }
}
function checkRef (where: string, kind: string, slug: string | null, known: Set<string>) {
  if (slug !== null && !known.has(slug)) fail(`${where}: unknown ${kind} "${slug}"`)
}
function checkLinks (where: string, links: { targetGroup: string }[]) {
  unique(`target group link in ${where}`, links.map((l) => l.targetGroup))
  for (const l of links) checkRef(where, 'target group', l.targetGroup, groupSlugs)
}

for (const o of organisations) {
  checkSources(`organisation ${o.slug}`, o.sources)
  for (const u of o.units) checkSources(`unit ${u.slug}`, u.sources)
  for (const s of o.sites) checkSources(`site ${s.slug}`, s.sources)
}

for (const f of facilities) {
  const where = `facility ${f.slug}`
  checkSources(where, f.sources)
  checkRef(where, 'operator', f.operator, orgSlugs)
  checkLinks(where, f.targetGroups)
  unique(`service key in ${where}`, f.services.map((s) => s.key))
  unique(`type in ${where}`, f.types)
  for (const s of f.services) {
    const sWhere = `${where} service ${s.key}`
    checkSources(sWhere, s.sources)
    checkRef(sWhere, 'category', s.category, categorySlugs)
    checkLinks(sWhere, s.targetGroups)
  }
}

for (const c of contacts) {
  const where = `contact ${c.key}`
  checkSources(where, c.sources)
  checkRef(where, 'organisation', c.organisation, orgSlugs)
  checkRef(where, 'facility', c.facility, facilitySlugs)
  if (c.visibility === 'internal' && (c.phone !== null || c.email !== null)) {
    fail(`${where}: internal contacts must not carry phone or email`)
  }
}

checkSources('agreement', agreement.sources)
agreement.declaredPartnerCounts.forEach((c, i) => checkSources(`declaredPartnerCounts[${i}]`, c.sources))
if (agreement.outcome) checkSources('agreement outcome', agreement.outcome.sources)
for (const p of agreement.parties) {
  const where = `party ${p.key}`
  checkSources(where, p.sources)
  checkRef(where, 'organisation', p.organisation, orgSlugs)
  checkRef(where, 'facility', p.facility, facilitySlugs)
  if ((p.role === 'facility') !== (p.facility !== null)) fail(`${where}: facility parties (only) need a facility`)
  if (p.role === 'facility' && p.facility !== null) {
    const f = facilities.find((x) => x.slug === p.facility)
    const expected = p.confirmation === 'named_participant' ? 'participant' : p.confirmation
    if (f && f.partnership.status !== expected) fail(`${where}: confirmation does not match facility partnership`)
  }
}
for (const e of agreement.events) {
  const where = `event ${e.slug}`
  checkSources(where, e.sources)
  checkRef(where, 'site', e.site, siteSlugs)
  if (e.endsAt !== null && Date.parse(e.endsAt) <= Date.parse(e.startsAt)) fail(`${where}: endsAt before startsAt`)
  for (const p of e.participants) {
    checkRef(where, 'organisation', p.organisation, orgSlugs)
    checkRef(where, 'facility', p.facility, facilitySlugs)
    if ((p.organisation === null) === (p.facility === null)) fail(`${where}: participant ${p.name} needs exactly one of organisation/facility`)
  }
}

// --- partnership counts ---------------------------------------------------------
const countStatus = (s: string) => facilities.filter((f) => f.partnership.status === s).length
for (const [status, expected] of [['participant', 9], ['probable', 3], ['unknown', 2]] as const) {
  if (countStatus(status) !== expected) fail(`expected ${expected} facilities with partnership "${status}", found ${countStatus(status)}`)
}
const partyFacilities = agreement.parties.filter((p) => p.role === 'facility').length
if (partyFacilities !== 12) fail(`expected 12 facility parties (9 named + 3 probable), found ${partyFacilities}`)

// --- comparison with the research file -----------------------------------------------
interface Research {
  facilities: { id: string, status: string, offers: string[] }[]
  agreement: { events: { participants: string[] }[] }
}
// What the research file lists as an offer but is none, and is therefore not seeded as one.
const NOT_OFFERS: Record<string, string[]> = {
  // The house's motto (mitteNdran 2019: used "unter dem Motto „Bildung – Begegnung – Beratung“"),
  // kept as a note of the facility.
  'villa-luetzow': ['Beratung, Bildung, Begegnung']
}
if (existsSync(researchFile)) {
  const research = JSON.parse(readFileSync(researchFile, 'utf8')) as Research
  const statusMap: Record<string, string> = {
    'named-in-press-release': 'participant', 'probable-signatory': 'probable', unconfirmed: 'unknown'
  }
  for (const r of research.facilities) {
    const f = facilities.find((x) => x.slug === r.id)
    if (!f) {
      fail(`research facility ${r.id} missing from facilities.json`)
      continue
    }
    const offers = r.offers.filter((offer) => !NOT_OFFERS[r.id]?.includes(offer))
    if (f.services.length !== offers.length) {
      fail(`facility ${r.id}: ${f.services.length} services, research lists ${offers.length} offers`)
    }
    if (f.partnership.status !== statusMap[r.status]) fail(`facility ${r.id}: partnership should be ${statusMap[r.status]}`)
  }
  // Participants are named as the press release and the Berliner Woche print them; where the
  // research list spells a name otherwise, the printed form is the fact.
  const printed: Record<string, string> = { 'Selbsthilfe-Kontakt- und Beratungsstelle Mitte': 'Selbsthilfe-Kontakt-und Beratungsstelle Mitte' }
  const expectedNames = (research.agreement.events[0]?.participants ?? []).map((name) => printed[name] ?? name)
  const names = agreement.events[0]?.participants.map((p) => p.name) ?? []
  if (names.join('|') !== expectedNames.join('|')) fail('event participants differ from the research list')
} else {
  console.warn(`warning: ${researchFile} not found, research comparison skipped`)
}

const unused = Object.keys(sources).filter((k) => !usedSources.has(k))
if (unused.length > 0) console.warn(`warning: sources never referenced: ${unused.join(', ')}`)

finish()

function finish (): never {
  if (problems.length > 0) {
    console.error(`seed data: ${problems.length} problem(s)`)
    for (const p of problems) console.error('  - ' + p)
    process.exit(1)
  }
  const services = facilities.reduce((n, f) => n + f.services.length, 0)
  console.log(`seed data ok: ${Object.keys(sources).length} sources, ${organisations.length} organisations, ` +
    `${facilities.length} facilities, ${services} services, ${contacts.length} contacts, ` +
    `${agreement.parties.length} parties, ${agreement.events.length} events`)
  process.exit(0)
}
