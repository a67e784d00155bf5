// The first half of the fuzz run (test/fuzz.ts): with fuzz-b.test.ts more than 10,000 requests.
import { fuzz } from './fuzz.ts'

fuzz(20180627, 4650)
