// Controlled vocabularies shared by the database layer, the API schemas and the seed files.

export const FACILITY_TYPES = [
  'stadtteilzentrum',
  'nachbarschaftshaus',
  'familienzentrum',
  'mehrgenerationenhaus',
  'begegnungsstaette',
  'nachbarschaftstreff',
  'selbsthilfekontaktstelle',
  'kinder-und-jugendzentrum',
  'kiezzentrum',
  'kulturzentrum'
] as const
export type FacilityType = typeof FACILITY_TYPES[number]

export const FACILITY_TYPE_LABELS: Record<FacilityType, string> = {
  stadtteilzentrum: 'Stadtteilzentrum',
  nachbarschaftshaus: 'Nachbarschaftshaus / Nachbarschaftszentrum',
  familienzentrum: 'Familienzentrum',
  mehrgenerationenhaus: 'Mehrgenerationenhaus',
  begegnungsstaette: 'Begegnungsstätte',
  nachbarschaftstreff: 'Nachbarschaftstreff',
  selbsthilfekontaktstelle: 'Selbsthilfe-Kontaktstelle',
  'kinder-und-jugendzentrum': 'Kinder- und Jugendzentrum',
  kiezzentrum: 'Kiezzentrum',
  kulturzentrum: 'Kultur- und Begegnungszentrum'
}

export const ORGANISATION_KINDS = ['district_office', 'jobcenter', 'operator'] as const

export const ORGANISATION_UNIT_KINDS = ['department', 'unit', 'programme', 'working_group'] as const

export const SITE_STATUSES = ['active', 'unverified', 'historic'] as const

// participant: named by a source as taking part in the partners' meeting of 11 March 2020 (that it
// signed is implied, not stated); probable: inferred, no source names it;
// unknown: a neighbourhood facility in Mitte with no link to the agreement found.
export const PARTNERSHIP_STATUSES = ['participant', 'probable', 'unknown'] as const

export const FACILITY_STATUSES = ['active', 'temporarily_closed', 'closed', 'unverified'] as const

export const SERVICE_STATUSES = ['active', 'historic', 'unverified'] as const

export const CONTACT_VISIBILITIES = ['public', 'internal'] as const

export const PARTY_ROLES = ['district_office', 'jobcenter', 'facility'] as const

// signatory: a source says it signed; named_participant: named by a source as taking part in the
// partners' meeting of 11 March 2020 (PM 067/2020), signing implied, not stated; probable: inferred only.
export const PARTY_CONFIRMATIONS = ['signatory', 'named_participant', 'probable'] as const
