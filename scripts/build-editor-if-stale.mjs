// Builds the web editor when editor/dist is missing or older than its sources, so
// `npm start` serves the current editor without rebuilding it every time.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const editor = fileURLToPath(new URL('../editor/', import.meta.url))
const built = join(editor, 'dist', 'index.html')

function newest(path) {
  const stat = statSync(path)
  if (!stat.isDirectory()) return stat.mtimeMs
  return Math.max(0, ...readdirSync(path).map((entry) => newest(join(path, entry))))
}

const sources = ['src', 'index.html', 'vite.config.ts', 'package.json'].map((entry) => join(editor, entry))
const stale = !existsSync(built) || Math.max(...sources.map(newest)) > statSync(built).mtimeMs
if (stale) {
  const result = spawnSync('npm', ['run', 'build', '--workspace', 'editor'], { stdio: 'inherit' })
  process.exit(result.status ?? 1)
}
