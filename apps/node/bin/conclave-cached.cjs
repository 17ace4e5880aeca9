#!/usr/bin/env node
// Runs the bundled CLI (dist/conclave.cjs, built by build.mjs) with V8's code cache: the bundle's
// compiled bytecode, saved once (dist/conclave.cjs.v8cache) and handed to V8 with the source, so a
// node does not parse and compile the 1.6 MB bundle again at every start. Measured (`pnpm bench
// conn --starts`, docs/operations.md "Session 8 (issue 4, conn)"): a node's CPU from exec to
// `started` ≈ 150 ms with the ESM bundle, ≈ 137 ms as CommonJS, ≈ 105 ms with the cache. Node 20
// has no compile cache for ES modules (module.enableCompileCache is Node 22), hence CommonJS and
// vm.Script, whose `cachedData` V8 checks against its version, its flags and the source's LENGTH
// (not its content): a mismatch is rejected (the bundle is then compiled as usual) and this process
// writes a new cache. A rebuilt bundle of the same length would accept an older bundle's cache and
// run the old code, so the cache is named by the bundle's id, the content hash build.mjs appends as
// its last line (dist/conclave.cjs.<id>.v8cache); a bundle without one writes no cache.
//
// The cache is made by build.mjs right after bundling: it runs one node here with
// CONCLAVE_CODE_CACHE_WARMUP_MS set, which writes the cache that long after `started` (the start
// path compiled by then) and exits. A missing or rejected cache is rewritten by the first node
// that has run for CACHE_WRITE_AFTER_MS. Writes go to a temporary file renamed over the cache, so
// nodes starting at once never read half a file; a failed write (read-only install) is ignored.
'use strict'
const { readFileSync, renameSync, writeFileSync, existsSync } = require('node:fs')
const { createRequire, Module } = require('node:module')
const { dirname, join } = require('node:path')
const vm = require('node:vm')

const BUNDLE = join(__dirname, '..', 'dist', 'conclave.cjs')
/** Same as build.mjs BUNDLE_ID_MARK. */
const BUNDLE_ID = /\n\/\/! conclave-bundle-id ([0-9a-f]{16,64})\n$/
/** A running node whose cache was missing or rejected writes one after this long. */
const CACHE_WRITE_AFTER_MS = 10_000

const source = readFileSync(BUNDLE, 'utf8')
// Only the tail is searched: a few bytes per start.
const id = BUNDLE_ID.exec(source.slice(-128))?.[1]
const CACHE = id === undefined ? undefined : `${BUNDLE}.${id}.v8cache`
let cachedData
try {
  // A bundle without an id was made by the build before ids (the next build replaces it: bin/ is
  // newer); it may read that build's unnamed cache, as it did then, and never writes one.
  cachedData = readFileSync(CACHE ?? `${BUNDLE}.v8cache`)
} catch {}
const script = new vm.Script(Module.wrap(source), {
  filename: BUNDLE,
  cachedData,
  importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
})

function writeCache() {
  if (!CACHE) return
  const tmp = `${CACHE}.${process.pid}.tmp`
  try {
    writeFileSync(tmp, script.createCachedData())
    renameSync(tmp, CACHE)
  } catch {}
}

const warmupMs = Number(process.env.CONCLAVE_CODE_CACHE_WARMUP_MS)
if (warmupMs > 0) {
  setTimeout(() => {
    writeCache()
    process.exit(0)
  }, warmupMs)
} else if (CACHE && (cachedData === undefined || script.cachedDataRejected)) {
  setTimeout(() => {
    // Another node may have written a missing one meanwhile; one is enough.
    if (script.cachedDataRejected || !existsSync(CACHE)) writeCache()
  }, CACHE_WRITE_AFTER_MS).unref()
}

const bundle = new Module(BUNDLE, module)
bundle.filename = BUNDLE
bundle.paths = Module._nodeModulePaths(dirname(BUNDLE))
script
  .runInThisContext()
  .call(bundle.exports, bundle.exports, createRequire(BUNDLE), bundle, BUNDLE, dirname(BUNDLE))
