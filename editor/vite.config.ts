import { defineConfig } from 'vite'

export default defineConfig({
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true, chunkSizeWarningLimit: 800 },
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
