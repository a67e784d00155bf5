// Reading the directory: facilities, services, the other resources, the HSDS surface and the sync
// script, in one process (each file in test/suites registers its own tests on tap's root test).
import './suites/facilities.ts'
import './suites/facilities-query.ts'
import './suites/services.ts'
import './suites/sync-script.ts'
import './suites/organisations.ts'
import './suites/contacts.ts'
import './suites/vocabularies.ts'
import './suites/agreements.ts'
import './suites/events.ts'
import './suites/hsds.ts'
