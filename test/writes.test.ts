// Every write route with its rules, history and change-feed entries, and who may call what (the
// auth matrix over all operations), in one process (each file in test/suites registers its own
// tests).
import './suites/facility-writes.ts'
import './suites/service-writes.ts'
import './suites/contact-writes.ts'
import './suites/organisation-writes.ts'
import './suites/vocabulary-writes.ts'
import './suites/agreement-writes.ts'
import './suites/event-writes.ts'
import './suites/auth-matrix.ts'
