import { existsSync } from 'node:fs'

/** Debian's Chromium (CHROMIUM_PATH, default /usr/bin/chromium); never a downloaded browser. */
export function chromiumPath(): string {
  const path = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
  if (!existsSync(path)) {
    throw new Error(
      `Chromium is missing at ${path}: install it with "apt-get install -y chromium" or set CHROMIUM_PATH`,
    )
  }
  return path
}
