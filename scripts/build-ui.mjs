#!/usr/bin/env node
// Bundles the investigation page (src/ui) into dist/ui: index.html, app.js, app.css. Everything
// the page needs is in these files (no CDN, works without a network). `--if-stale` skips the build
// when dist/ui is newer than every file of src/ui (the tests call it so). Files are written under
// a temporary name and renamed, so that a concurrent reader never sees half a bundle.
import { build } from 'esbuild'
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const src = join(root, 'src', 'ui')
const out = join(root, 'dist', 'ui')

function newest (dir) {
  let t = 0
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs)
  }
  return t
}

function stale () {
  try {
    const built = Math.min(...['index.html', 'app.js', 'app.css'].map((f) => statSync(join(out, f)).mtimeMs))
    return built < Math.max(newest(src), statSync(fileURLToPath(import.meta.url)).mtimeMs)
  } catch {
    return true
  }
}

async function bundle () {
  const result = await build({
    entryPoints: [join(src, 'app.tsx')],
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2022'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    outdir: out,
    entryNames: 'app',
    write: false,
    legalComments: 'none',
    logLevel: 'warning'
  })
  mkdirSync(out, { recursive: true })
  const tag = `${process.pid}.${Date.now()}`
  const files = [...result.outputFiles.map((f) => [f.path, f.contents]), [join(out, 'index.html'), readFileSync(join(src, 'index.html'))]]
  for (const [path, contents] of files) {
    writeFileSync(`${path}.${tag}`, contents)
    renameSync(`${path}.${tag}`, path)
  }
  const total = files.reduce((n, [, c]) => n + c.length, 0)
  console.log(`dist/ui: ${files.length} files, ${(total / 1024).toFixed(1)} KiB`)
}

if (!process.argv.includes('--if-stale') || stale()) await bundle()
