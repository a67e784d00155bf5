import { readFileSync } from 'node:fs'
import { projectPath } from '../lib/paths.ts'

const pkg = JSON.parse(readFileSync(projectPath('package.json'), 'utf8')) as { version: string }

export const API_VERSION = pkg.version

export const API_TAGS = [
  { name: 'meta', description: 'Service root, health and readiness.' },
  { name: 'facilities', description: 'Neighbourhood facilities (Nachbarschaftseinrichtungen) with address, partnership status and sources.' },
  { name: 'services', description: 'Offers (Angebote) of the facilities.' },
  { name: 'vocabularies', description: 'Target groups and service categories (controlled vocabularies).' },
  { name: 'organisations', description: 'District office, JobCenter and operators (Träger), with units and sites.' },
  { name: 'contacts', description: 'Contact persons as published by public sources, with their role.' },
  { name: 'agreements', description: 'The cooperation agreement: parties, aims, declared and known partner counts.' },
  { name: 'events', description: 'Events of the cooperation, such as the meeting of 11 March 2020.' },
  { name: 'sync', description: 'The change feed for keeping a copy in step, deletes included.' },
  { name: 'data-quality', description: 'What the directory does not know yet.' },
  { name: 'hsds', description: 'Open Referral HSDS 3.0 read API (services, organizations, locations as service_at_locations, taxonomies); our additions are described by the profile at /hsds/profile.' }
]
