import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url))

export default defineConfig({
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: true,
    chunkSizeWarningLimit: 800,
    rolldownOptions: {
      // The web app, and the embeddable element other sites load from a fixed address.
      input: { app: here('index.html'), embed: here('src/embed/embed.ts') },
      // The element must keep its exports (`TandemEditorElement`) for pages that import it.
      preserveEntrySignatures: 'exports-only',
      output: {
        entryFileNames: (chunk) => (chunk.name === 'embed' ? 'embed.js' : 'assets/[name]-[hash].js'),
      },
    },
  },
  experimental: {
    // Chunks and their preloads resolve against the module that imports them, not the page:
    // embed.js runs in other sites' pages, whose own origin has no /assets.
    renderBuiltUrl: (filename, { hostType }) =>
      hostType === 'js' ? { runtime: `new URL(${JSON.stringify(`/${filename}`)}, import.meta.url).href` } : { relative: false },
  },
  resolve: {
    // One copy of each, or Yjs and ProseMirror break in subtle ways (instanceof checks).
    dedupe: [
      'yjs',
      'lib0',
      'y-protocols',
      '@tiptap/pm',
      'prosemirror-model',
      'prosemirror-state',
      'prosemirror-view',
      'prosemirror-transform',
    ],
  },
  server: { proxy: { '/collab': { target: 'ws://127.0.0.1:1234', ws: true }, '/api': 'http://127.0.0.1:1234' } },
})
