import type { Tombstone } from '../schemas/common.ts'
import type { Facility } from '../schemas/facilities.ts'

// GeoJSON (RFC 7946) export of facilities for map tools. No source gives coordinates for the real
// facilities, so their features have `geometry: null`, which RFC 7946 (3.2) allows for unlocated
// features; a point is written only from coordinates a record has, in the [longitude, latitude]
// order of RFC 7946 (WGS 84). Properties are flat (address parts side by side, the operator and
// the partnership status as plain values) because GIS tools show nested objects badly; lists stay
// JSON arrays. Unknown values stay null. A tombstone of a deleted facility (lists with
// `updatedSince`) becomes a feature with only `deleted` and `deletedAt`, so that a copy deletes it.

export const GEOJSON_MEDIA_TYPE = 'application/geo+json'

export interface PointGeometry {
  type: 'Point'
  coordinates: [number, number]
}

export interface FacilityProperties {
  slug: string
  name: string
  alternateNames: string[]
  types: string[]
  street: string | null
  postcode: string | null
  city: string | null
  ortsteil: string | null
  bezirksregion: string | null
  operator: string | null
  partnershipStatus: string
  status: string
  phone: string | null
  fax: string | null
  email: string | null
  website: string | null
  categories: string[]
  targetGroups: string[]
  openingHours: string | null
  openingHoursNote: string | null
  url: string
  updatedAt: string
  // With `near`: the distance in metres, as in JSON.
  distance?: number
}

export interface TombstoneProperties {
  deleted: true
  deletedAt: string
}

export interface GeoJsonFeature<P> {
  type: 'Feature'
  id: string
  geometry: PointGeometry | null
  properties: P
}

export interface GeoJsonFeatureCollection {
  type: 'FeatureCollection'
  features: GeoJsonFeature<FacilityProperties | TombstoneProperties>[]
}

export function facilityFeature (f: Facility): GeoJsonFeature<FacilityProperties> {
  return {
    type: 'Feature',
    id: f.id,
    geometry: f.geo === null ? null : { type: 'Point', coordinates: [f.geo.lon, f.geo.lat] },
    properties: {
      slug: f.slug,
      name: f.name,
      alternateNames: f.alternateNames,
      types: f.types,
      street: f.address.street,
      postcode: f.address.postcode,
      city: f.address.city,
      ortsteil: f.address.ortsteil,
      bezirksregion: f.address.bezirksregion,
      operator: f.operator?.name ?? null,
      partnershipStatus: f.partnership.status,
      status: f.status,
      phone: f.phone,
      fax: f.fax,
      email: f.email,
      website: f.website,
      categories: f.categories,
      targetGroups: f.targetGroups.map((group) => group.slug),
      openingHours: f.openingHours.osm,
      openingHoursNote: f.openingHours.note,
      url: `/v1/facilities/${f.id}`,
      updatedAt: f.updatedAt,
      ...(f.distance === undefined ? {} : { distance: f.distance })
    }
  }
}

export function tombstoneFeature (t: Tombstone): GeoJsonFeature<TombstoneProperties> {
  return { type: 'Feature', id: t.id, geometry: null, properties: { deleted: true, deletedAt: t.deletedAt } }
}

export function facilitiesFeatureCollection (records: (Facility | Tombstone)[]): GeoJsonFeatureCollection {
  return {
    type: 'FeatureCollection',
    features: records.map((record) => isTombstone(record) ? tombstoneFeature(record) : facilityFeature(record))
  }
}

const isTombstone = (record: Facility | Tombstone): record is Tombstone => 'deleted' in record && record.deleted === true
