// The second half of the fuzz run (test/fuzz.ts), another seed.
import { fuzz } from './fuzz.ts'

fuzz(20200311, 4650)
