// Settings, database, migrations and the opening-hours engine in one process (each file in
// test/suites registers its own tests).
import './suites/config.ts'
import './suites/database.ts'
import './suites/migrations.ts'
import './suites/opening-hours.ts'
