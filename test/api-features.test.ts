// Cross-cutting behaviour in one process: change feed, data quality, HTTP caching, protection,
// content negotiation and exports (each file in test/suites registers its own tests).
import './suites/changes.ts'
import './suites/data-quality.ts'
import './suites/http-cache.ts'
import './suites/protection.ts'
import './suites/formats.ts'
import './suites/exports.ts'
