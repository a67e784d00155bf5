// The read API of organisations, contacts, vocabularies, agreements and events, in one process.
import './suites/organisations.ts'
import './suites/contacts.ts'
import './suites/vocabularies.ts'
import './suites/agreements.ts'
import './suites/events.ts'
