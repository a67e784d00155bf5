// Builds dist/server.mjs for `npm start`: src/ compiled to JavaScript in one file, with TypeBox
// (about 700 small ES modules) bundled in; every other package stays in node_modules. Loading
// one file instead of hundreds is what brings start-up under a second.
// `node esbuild.config.mjs --outfile tmp/x/server.mjs` writes elsewhere (tests that start real
// server processes); the file must stay inside the project, where package.json is found.
import { parseArgs } from 'node:util'
import { build } from 'esbuild'

const { values } = parseArgs({ options: { outfile: { type: 'string', default: 'dist/server.mjs' } } })

const BUNDLED = /^typebox(\/|$)/

await build({
  entryPoints: ['src/server.ts'],
  outfile: values.outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
  plugins: [{
    name: 'packages-external-but-typebox',
    setup (build) {
      build.onResolve({ filter: /^[^./]/ }, (args) => BUNDLED.test(args.path) ? undefined : { path: args.path, external: true })
    }
  }]
})
