import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

// The project folder: the nearest folder above this module with package.json and migrations/.
// The same whether the code runs from src/ (tsx) or from the compiled dist/src/ (npm start).
function findProjectRoot (): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'migrations'))) return dir
    const parent = dirname(dir)
    if (parent === dir) throw new Error('package.json with migrations/ not found above ' + fileURLToPath(import.meta.url))
    dir = parent
  }
}

export const PROJECT_ROOT = findProjectRoot()

export const projectPath = (...parts: string[]): string => join(PROJECT_ROOT, ...parts)
