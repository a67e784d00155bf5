// The fuzz run (test/fuzz.ts): two fixed seeds, 5,000 generated requests each (10,000 per run, the
// ETag look-ups of conditional writes not counted), in one
// process (one app build and one set of compiled response validators for both).
import { fuzz } from './fuzz.ts'

fuzz(20180627, 5000, 0)
fuzz(20200311, 5000, 1)
