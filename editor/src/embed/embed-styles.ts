/**
 * The element's styles. Every selector starts at `tandem-editor`, so the host page is never
 * restyled; the element sets its own font, colours, margins and box sizing, so the host
 * page's rules for `p`, `ul`, `button`… do not leak into the editor. Themable through
 * `--tandem-accent`, `--tandem-font`, `--tandem-bg`, `--tandem-fg`, `--tandem-muted`,
 * `--tandem-line`, `--tandem-radius`, `--tandem-min-height`.
 */
export const EMBED_CSS = `
tandem-editor {
  --_accent: var(--tandem-accent, #4f46e5);
  --_bg: var(--tandem-bg, #ffffff);
  --_fg: var(--tandem-fg, #1f2328);
  --_muted: var(--tandem-muted, #656d76);
  --_line: var(--tandem-line, #e3e6ea);
  --_subtle: color-mix(in srgb, var(--_fg) 6%, var(--_bg));
  display: block; box-sizing: border-box; text-align: start;
  font: 16px/1.6 var(--tandem-font, system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif);
  color: var(--_fg); background: var(--_bg); color-scheme: light;
  border: 1px solid var(--_line); border-radius: var(--tandem-radius, 8px); overflow: hidden;
}
tandem-editor[hidden] { display: none; }
tandem-editor[theme='dark'] {
  --_bg: var(--tandem-bg, #16181d); --_fg: var(--tandem-fg, #e6e8eb);
  --_muted: var(--tandem-muted, #9aa3ad); --_line: var(--tandem-line, #2e333b); color-scheme: dark;
}
@media (prefers-color-scheme: dark) {
  tandem-editor[theme='auto'] {
    --_bg: var(--tandem-bg, #16181d); --_fg: var(--tandem-fg, #e6e8eb);
    --_muted: var(--tandem-muted, #9aa3ad); --_line: var(--tandem-line, #2e333b); color-scheme: dark;
  }
}
tandem-editor *, tandem-editor *::before, tandem-editor *::after { box-sizing: border-box; }
tandem-editor button { font: inherit; color: inherit; margin: 0; text-transform: none; letter-spacing: normal; }
tandem-editor .toolbar {
  display: flex; flex-wrap: wrap; gap: 2px; padding: 4px; margin: 0;
  border-bottom: 1px solid var(--_line); background: var(--_subtle);
}
tandem-editor[toolbar='none'] .toolbar, tandem-editor[readonly] .toolbar { display: none; }
tandem-editor[toolbar='minimal'] .toolbar-group:nth-child(n+3) { display: none; }
tandem-editor .toolbar-group { display: flex; gap: 2px; padding: 0 4px; border-right: 1px solid var(--_line); }
tandem-editor .toolbar-group:last-child { border-right: 0; }
tandem-editor .tool {
  min-width: 30px; height: 28px; padding: 0 6px; border: 0; border-radius: 6px;
  background: none; cursor: pointer; font-weight: 600; font-size: 0.9rem; line-height: 1; box-shadow: none;
}
tandem-editor .tool:hover:not(:disabled) { background: color-mix(in srgb, var(--_fg) 10%, transparent); }
tandem-editor .tool.is-active { background: color-mix(in srgb, var(--_accent) 15%, transparent); color: var(--_accent); }
tandem-editor .tool:disabled { opacity: 0.4; cursor: default; }
tandem-editor .tandem-prose {
  min-height: var(--tandem-min-height, 8rem); padding: 16px 20px; outline: none; margin: 0;
  font: inherit; color: inherit; background: none;
}
tandem-editor .tandem-prose > * + * { margin-top: 0.75em; }
tandem-editor .tandem-prose p { margin: 0; padding: 0; font: inherit; color: inherit; }
tandem-editor .tandem-prose h1, tandem-editor .tandem-prose h2, tandem-editor .tandem-prose h3 {
  line-height: 1.25; margin: 1em 0 0.4em; padding: 0; font-family: inherit; font-weight: 650; color: inherit;
}
tandem-editor .tandem-prose h1 { font-size: 1.8rem; }
tandem-editor .tandem-prose h2 { font-size: 1.4rem; }
tandem-editor .tandem-prose h3 { font-size: 1.15rem; }
tandem-editor .tandem-prose blockquote {
  margin: 0; padding: 0 0 0 1rem; border: 0; border-left: 3px solid var(--_line); color: var(--_muted); background: none;
}
tandem-editor .tandem-prose code {
  font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 0.9em;
  background: var(--_subtle); padding: 0.1em 0.3em; border-radius: 4px; color: inherit;
}
tandem-editor .tandem-prose pre { margin: 0; background: #0f172a; color: #e2e8f0; padding: 12px 14px; border-radius: 6px; overflow-x: auto; }
tandem-editor .tandem-prose pre code { background: none; padding: 0; color: inherit; }
tandem-editor .tandem-prose hr { border: 0; border-top: 1px solid var(--_line); margin: 1.5em 0; }
tandem-editor .tandem-prose ul, tandem-editor .tandem-prose ol { margin: 0; padding: 0 0 0 1.4rem; }
tandem-editor .tandem-prose ul { list-style: disc; }
tandem-editor .tandem-prose ol { list-style: decimal; }
tandem-editor .tandem-prose li { margin: 0; padding: 0; }
tandem-editor .tandem-prose a { color: var(--_accent); }
tandem-editor[data-empty] .tandem-prose > p:first-child::before {
  content: var(--_placeholder, ''); color: var(--_muted); float: left; height: 0; pointer-events: none;
}
tandem-editor .ProseMirror {
  position: relative; word-wrap: break-word; white-space: pre-wrap; white-space: break-spaces;
  font-variant-ligatures: none; font-feature-settings: "liga" 0;
}
tandem-editor .ProseMirror [contenteditable="false"] { white-space: normal; }
tandem-editor .ProseMirror [contenteditable="false"] [contenteditable="true"] { white-space: pre-wrap; }
tandem-editor .ProseMirror pre { white-space: pre-wrap; }
tandem-editor img.ProseMirror-separator {
  display: inline !important; border: none !important; margin: 0 !important; width: 0 !important; height: 0 !important;
}
tandem-editor .ProseMirror-gapcursor { display: none; pointer-events: none; position: absolute; margin: 0; }
tandem-editor .ProseMirror-gapcursor::after {
  content: ""; display: block; position: absolute; top: -2px; width: 20px; border-top: 1px solid currentColor;
}
tandem-editor .ProseMirror-hideselection *::selection { background: transparent; }
tandem-editor .ProseMirror-hideselection * { caret-color: transparent; }
tandem-editor .ProseMirror-focused .ProseMirror-gapcursor { display: block; }
tandem-editor .collaboration-carets__caret {
  position: relative; margin: 0 -1px; border-left: 1px solid; border-right: 1px solid; word-break: normal; pointer-events: none;
}
tandem-editor .collaboration-carets__label {
  position: absolute; top: -1.45em; left: -1px; padding: 1px 6px; border-radius: 4px 4px 4px 0;
  color: white; font-size: 0.72rem; font-weight: 600; line-height: 1.3; white-space: nowrap; user-select: none;
}
tandem-editor .tandem-footer {
  display: flex; align-items: center; gap: 8px; padding: 4px 10px; margin: 0;
  border-top: 1px solid var(--_line); font-size: 0.78rem; color: var(--_muted);
}
tandem-editor .tandem-presence { display: flex; gap: 4px; list-style: none; margin: 0 0 0 auto; padding: 0; }
tandem-editor .tandem-person {
  display: grid; place-items: center; width: 22px; height: 22px; margin: 0; padding: 0;
  border-radius: 50%; color: white; font-size: 0.65rem; font-weight: 700; line-height: 1;
}
`

/** Documents that have the sheet: an element moved into an iframe's document needs it there too. */
const adopted = new WeakSet<Document>()

/**
 * Adds the element's stylesheet to the document once, as a constructable stylesheet: a CSP
 * without 'unsafe-inline' (Tandem's own pages, many hosts) allows it where a `<style>` is refused.
 */
export function adoptEmbedStyles(target: Document): void {
  if (adopted.has(target)) return
  adopted.add(target)
  // A sheet may only be adopted by the document whose window constructed it.
  const sheet = new (target.defaultView ?? window).CSSStyleSheet()
  sheet.replaceSync(EMBED_CSS)
  target.adoptedStyleSheets = [...target.adoptedStyleSheets, sheet]
}
