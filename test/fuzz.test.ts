// The fuzz run (test/fuzz.ts): two fixed seeds, 5,000 generated requests each through app.inject
// (10,000 per run, the ETag look-ups of conditional writes not counted), and a third seed whose
// requests go over a real socket (Node's HTTP parser and connection handling included), in one
// process (one set of compiled response validators for all).
import { fuzz } from './fuzz.ts'

fuzz(20180627, 5000, 0)
fuzz(20200311, 5000, 1)
fuzz(20260311, 1500, 2, 'socket')
