// The facility and service read API and the sync example script in one process (each file in
// test/suites registers its own tests).
import './suites/facilities.ts'
import './suites/facilities-query.ts'
import './suites/services.ts'
import './suites/sync-script.ts'
