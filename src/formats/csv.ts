import { stringify } from 'csv-stringify/sync'
import type { Tombstone } from '../schemas/common.ts'
import type { Contact } from '../schemas/contacts.ts'
import type { Facility } from '../schemas/facilities.ts'
import type { Organisation } from '../schemas/organisations.ts'
import type { Service } from '../schemas/services.ts'
import type { Event } from '../schemas/agreements.ts'
import type { Category, TargetGroup } from '../schemas/vocabularies.ts'

// CSV exports of the API records (RFC 4180): one header row, then one row per record, CRLF line
// endings, UTF-8. Every column is a dotted path into the JSON record (`address.street`); a path
// through a list (`targetGroups.slug`) collects the value of every element. Cells:
// - lists are joined with MULTI_VALUE_SEPARATOR (` | `) in the order of the JSON record;
// - booleans are `true` / `false`, null and missing values are empty cells;
// - numbers are written with a decimal point, in the Excel dialect with a decimal comma;
// - a cell starting with `=`, `+`, `-`, `@`, tab or CR (also their full-width forms) gets a
//   leading `'` so that spreadsheets do not run it as a formula (OWASP "CSV injection"). Phone
//   numbers published as `+49 …` therefore read `'+49 …`: the accepted price of the protection.
// The last two columns of every export are `deleted` and `deletedAt`; a tombstone of a deleted
// record (lists with `updatedSince`) is a row with only `id`, `deleted` (`true`) and `deletedAt`.

export const CSV_MEDIA_TYPE = 'text/csv; charset=utf-8; header=present'
export const MULTI_VALUE_SEPARATOR = ' | '

export interface CsvOptions {
  // German Excel: a UTF-8 byte order mark (without it Excel reads the file as Windows-1252 and
  // breaks the umlauts), `;` between cells and a decimal comma, as Excel with German locale
  // settings expects when a CSV file is opened by double click.
  excel?: boolean
}

// Dotted paths into T, through nested objects and lists, checked against the record types so that
// a column cannot name a field that does not exist.
type Path<T> = T extends readonly (infer E)[]
  ? Path<E>
  : T extends object
    ? { [K in keyof T & string]: K | `${K}.${Path<NonNullable<T[K]>>}` }[keyof T & string]
    : never

type TombstoneColumns = 'deleted' | 'deletedAt'
const columns = <T>(...paths: (Path<T> | TombstoneColumns)[]) => Object.freeze(paths)

export const FACILITY_CSV_COLUMNS = columns<Facility>(
  'id', 'slug', 'name', 'alternateNames', 'types', 'status',
  'operator.id', 'operator.slug', 'operator.name',
  'address.street', 'address.postcode', 'address.city', 'address.ortsteil', 'address.bezirksregion', 'address.note',
  'geo.lat', 'geo.lon',
  'phone', 'fax', 'email', 'website',
  'openingHours.osm', 'openingHours.note',
  'description',
  'partnership.status', 'partnership.evidence',
  'targetGroups.slug', 'categories', 'serviceCount',
  'verifiedAt', 'verifiedBy', 'sources.url', 'createdAt', 'updatedAt',
  'deleted', 'deletedAt'
)

export const SERVICE_CSV_COLUMNS = columns<Service>(
  'id', 'name', 'description',
  'facility.id', 'facility.slug', 'facility.name',
  'category.slug', 'category.labelDe',
  'targetGroups.slug', 'scheduleNote', 'feeNote', 'asOf', 'status',
  'sources.url', 'createdAt', 'updatedAt',
  'deleted', 'deletedAt'
)

export const CONTACT_CSV_COLUMNS = columns<Contact>(
  'id', 'name', 'role',
  'organisation.id', 'organisation.slug', 'organisation.name',
  'facility.id', 'facility.slug', 'facility.name',
  'phone', 'email', 'visibility', 'asOf',
  'sources.url', 'createdAt', 'updatedAt',
  'deleted', 'deletedAt'
)

export const ORGANISATION_CSV_COLUMNS = columns<Organisation>(
  'id', 'slug', 'kind', 'name', 'alternateNames', 'legalForm',
  'address.street', 'address.postcode', 'address.city', 'address.ortsteil',
  'phone', 'email', 'website', 'facilityCount',
  'sources.url', 'createdAt', 'updatedAt',
  'deleted', 'deletedAt'
)

export const EVENT_CSV_COLUMNS = columns<Event>(
  'id', 'slug', 'title', 'description', 'startsAt', 'endsAt', 'timeZone',
  'location.name', 'location.street', 'location.postcode', 'location.city', 'location.site.slug', 'location.organisation.slug',
  'agreement.id', 'agreement.slug', 'agreement.title',
  'participants.name',
  'sources.url', 'createdAt', 'updatedAt',
  'deleted', 'deletedAt'
)

type Row<T> = T | Tombstone

export const TARGET_GROUP_CSV_COLUMNS = columns<TargetGroup>(
  'id', 'slug', 'labelDe', 'labelEn', 'description', 'facilityCount', 'serviceCount', 'createdAt', 'updatedAt',
  'deleted', 'deletedAt'
)

export const CATEGORY_CSV_COLUMNS = columns<Category>(
  'id', 'slug', 'labelDe', 'labelEn', 'description', 'serviceCount', 'facilityCount', 'createdAt', 'updatedAt',
  'deleted', 'deletedAt'
)

export const facilitiesCsv = (records: readonly Row<Facility>[], options?: CsvOptions) => toCsv(FACILITY_CSV_COLUMNS, records, options)
export const servicesCsv = (records: readonly Row<Service>[], options?: CsvOptions) => toCsv(SERVICE_CSV_COLUMNS, records, options)
export const contactsCsv = (records: readonly Row<Contact>[], options?: CsvOptions) => toCsv(CONTACT_CSV_COLUMNS, records, options)
export const organisationsCsv = (records: readonly Row<Organisation>[], options?: CsvOptions) => toCsv(ORGANISATION_CSV_COLUMNS, records, options)
export const eventsCsv = (records: readonly Row<Event>[], options?: CsvOptions) => toCsv(EVENT_CSV_COLUMNS, records, options)
export const targetGroupsCsv = (records: readonly Row<TargetGroup>[], options?: CsvOptions) => toCsv(TARGET_GROUP_CSV_COLUMNS, records, options)
export const categoriesCsv = (records: readonly Row<Category>[], options?: CsvOptions) => toCsv(CATEGORY_CSV_COLUMNS, records, options)

function toCsv (header: readonly string[], records: readonly object[], options: CsvOptions = {}): string {
  const excel = options.excel === true
  const paths = header.map((column) => column.split('.'))
  const rows = records.map((record) => {
    const tombstone = isTombstone(record)
    return paths.map((path, index) => {
      const column = header[index]
      // A tombstone only says that the record is gone; it has no other field to show.
      if (tombstone && column !== 'id' && column !== 'deletedAt' && column !== 'deleted') return null
      if (column === 'deleted') return String(tombstone)
      return cell(valuesAt(record, path), excel)
    })
  })
  return stringify([[...header], ...rows], {
    bom: excel,
    delimiter: excel ? ';' : ',',
    record_delimiter: 'windows',
    // Without this, giving record_delimiter switches off the quoting of a lone LF or CR in a cell.
    quote_record_delimiter: true,
    escape_formulas: true,
    cast: { number: (value) => number(value, excel) }
  })
}

function isTombstone (record: object): record is Tombstone {
  return (record as Partial<Tombstone>).deleted === true
}

// Every value at the path, descending into each element of a list on the way.
function valuesAt (value: unknown, path: readonly string[]): unknown[] {
  if (value === null || value === undefined) return []
  if (Array.isArray(value)) return value.flatMap((element) => valuesAt(element, path))
  const [key, ...rest] = path
  if (key === undefined) return [value]
  if (typeof value !== 'object') return []
  return valuesAt((value as Record<string, unknown>)[key], rest)
}

function cell (values: unknown[], excel: boolean): string | number | null {
  if (values.length === 0) return null
  // A number alone stays a number, so that the formula protection lets a negative one (a western
  // longitude) pass unchanged.
  if (values.length === 1 && typeof values[0] === 'number') return values[0]
  return values.map((value) => text(value, excel)).join(MULTI_VALUE_SEPARATOR)
}

function number (value: number, excel: boolean): string {
  return excel ? String(value).replace('.', ',') : String(value)
}

function text (value: unknown, excel: boolean): string {
  if (typeof value === 'number') return number(value, excel)
  if (typeof value === 'string') return value
  if (typeof value === 'boolean') return String(value)
  return JSON.stringify(value)
}
