import type { Editor } from '@tiptap/core'
import { h } from './dom.js'

interface Button {
  readonly label: string
  readonly title: string
  readonly run: (editor: Editor) => boolean
  readonly active?: (editor: Editor) => boolean
}

const key = /Mac|iPhone|iPad/.test(navigator.platform) ? '⌘' : 'Ctrl+'

const groups: Button[][] = [
  [
    { label: 'B', title: `Bold (${key}B)`, run: (e) => e.chain().focus().toggleBold().run(), active: (e) => e.isActive('bold') },
    { label: 'I', title: `Italic (${key}I)`, run: (e) => e.chain().focus().toggleItalic().run(), active: (e) => e.isActive('italic') },
    { label: 'S', title: `Strikethrough (${key}Shift+S)`, run: (e) => e.chain().focus().toggleStrike().run(), active: (e) => e.isActive('strike') },
    { label: '</>', title: `Inline code (${key}E)`, run: (e) => e.chain().focus().toggleCode().run(), active: (e) => e.isActive('code') },
  ],
  [
    { label: 'H1', title: `Heading 1 (${key}Alt+1)`, run: (e) => e.chain().focus().toggleHeading({ level: 1 }).run(), active: (e) => e.isActive('heading', { level: 1 }) },
    { label: 'H2', title: `Heading 2 (${key}Alt+2)`, run: (e) => e.chain().focus().toggleHeading({ level: 2 }).run(), active: (e) => e.isActive('heading', { level: 2 }) },
    { label: 'H3', title: `Heading 3 (${key}Alt+3)`, run: (e) => e.chain().focus().toggleHeading({ level: 3 }).run(), active: (e) => e.isActive('heading', { level: 3 }) },
  ],
  [
    { label: '•', title: `Bullet list (${key}Shift+8)`, run: (e) => e.chain().focus().toggleBulletList().run(), active: (e) => e.isActive('bulletList') },
    { label: '1.', title: `Numbered list (${key}Shift+7)`, run: (e) => e.chain().focus().toggleOrderedList().run(), active: (e) => e.isActive('orderedList') },
    { label: '❝', title: `Quote (${key}Shift+B)`, run: (e) => e.chain().focus().toggleBlockquote().run(), active: (e) => e.isActive('blockquote') },
    { label: '{ }', title: `Code block (${key}Alt+C)`, run: (e) => e.chain().focus().toggleCodeBlock().run(), active: (e) => e.isActive('codeBlock') },
    { label: '―', title: 'Divider', run: (e) => e.chain().focus().setHorizontalRule().run() },
  ],
  [
    { label: '↶', title: `Undo (${key}Z)`, run: (e) => e.chain().focus().undo().run() },
    { label: '↷', title: `Redo (${key}Shift+Z)`, run: (e) => e.chain().focus().redo().run() },
  ],
]

/** The formatting toolbar; buttons show the active marks and blocks at the cursor. */
export function createToolbar(editor: Editor): HTMLElement {
  const buttons: Array<[HTMLButtonElement, Button]> = []
  const toolbar = h('div', { 'class': 'toolbar', 'role': 'toolbar', 'aria-label': 'Formatting' })
  for (const group of groups) {
    const box = h('div', { class: 'toolbar-group' })
    for (const button of group) {
      const element = h('button', {
        'type': 'button',
        'class': 'tool',
        'title': button.title,
        'aria-label': button.title,
        'onmousedown': (event: Event) => event.preventDefault(),
        'onclick': () => button.run(editor),
      }, button.label)
      buttons.push([element, button])
      box.append(element)
    }
    toolbar.append(box)
  }
  const refresh = () => {
    for (const [element, button] of buttons) {
      element.disabled = !editor.isEditable
      const active = button.active?.(editor) ?? false
      element.classList.toggle('is-active', active)
      element.setAttribute('aria-pressed', String(active))
    }
  }
  editor.on('transaction', refresh)
  editor.on('update', refresh)
  refresh()
  return toolbar
}
