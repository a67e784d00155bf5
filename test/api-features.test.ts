// The foundation (configuration, database, migrations, opening hours), the pure format writers,
// the features every route shares (change feed, data-quality report, HTTP caching, protection,
// formats, exports) and the OpenAPI document, in one process (each file in test/suites registers
// its own tests on tap's root test).
import './suites/config.ts'
import './suites/database.ts'
import './suites/migrations.ts'
import './suites/opening-hours.ts'
import './suites/format-csv.ts'
import './suites/format-vcard.ts'
import './suites/format-ical.ts'
import './suites/format-geojson.ts'
import './suites/format-jsonld.ts'
import './suites/changes.ts'
import './suites/data-quality.ts'
import './suites/http-cache.ts'
import './suites/content-coding.ts'
import './suites/protection.ts'
import './suites/formats.ts'
import './suites/exports.ts'
import './suites/openapi.ts'
import './suites/problems.ts'
