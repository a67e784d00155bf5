// The pure format writers, one process for all of them (each file in test/suites registers its
// own tests on tap's root test).
import './suites/format-csv.ts'
import './suites/format-vcard.ts'
import './suites/format-ical.ts'
import './suites/format-geojson.ts'
import './suites/format-jsonld.ts'
