import neostandard from 'neostandard'

export default [
  ...neostandard({ ts: true, ignores: ['node_modules/**', 'data/**', 'tmp/**', '.tap/**', 'coverage/**', 'migrations/**', 'dist/**'] }),
  {
    // TypeBox idiom: a schema constant and its Static<> type share one name.
    rules: { '@typescript-eslint/no-redeclare': 'off' }
  }
]
