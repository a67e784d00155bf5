// Builds dist/server.mjs for `npm start`: src/ and the packages it uses compiled to JavaScript in
// one file. Loading one file instead of hundreds of modules is what brings start-up under a
// second (with TypeBox alone bundled: 0.9-1.1 s at 100,000 facilities; with every package:
// 0.7-0.9 s). Two stay in node_modules: better-sqlite3 (a native addon) and @fastify/swagger-ui
// (it serves the Swagger UI files from its own folder).
// `node esbuild.config.mjs --outfile tmp/x/server.mjs` writes elsewhere (tests that start real
// server processes); the file must stay inside the project, where package.json and
// node_modules are found.
import { parseArgs } from 'node:util'
import { build } from 'esbuild'

const { values } = parseArgs({ options: { outfile: { type: 'string', default: 'dist/server.mjs' } } })

const EXTERNAL = /^(better-sqlite3|@fastify\/swagger-ui)(\/|$)/

await build({
  entryPoints: ['src/server.ts'],
  outfile: values.outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
  // Bundled CommonJS packages call require() (for Node's own modules, too); an ES module has none.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  plugins: [{
    name: 'packages-bundled-but-native-and-static',
    setup (build) {
      build.onResolve({ filter: /^[^./]/ }, (args) => EXTERNAL.test(args.path) ? { path: args.path, external: true } : undefined)
    }
  }]
})
