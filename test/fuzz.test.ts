// The fuzz run (test/fuzz.ts): two fixed seeds, together more than 10,000 requests per run, in one
// process (one app build and one set of compiled response validators for both).
import { fuzz } from './fuzz.ts'

fuzz(20180627, 4650, 0)
fuzz(20200311, 4650, 1)
