// Markdown messages, rendered as elements made one by one (never HTML parsed from the text), so no
// markup in a message can run or style anything: paragraphs, headings, lists, quotes, fenced code,
// and inline code, bold, italic and links (http(s) only; any other link stays text).
import {html, Linkified, safeHref} from './ui.js';

const INLINE = /(`[^`\n]+`)|(\*\*[^*\n]+\*\*)|(\*[^*\n]+\*|_[^_\n]+_)|(\[[^\]\n]+\]\([^)\s]+\))/g;

function inline(text) {
  const out = [];
  let last = 0;
  for (const m of text.matchAll(INLINE)) {
    out.push(html`<${Linkified} text=${text.slice(last, m.index)} />`);
    const [whole, code, bold, italic, link] = m;
    if (code) out.push(html`<code>${code.slice(1, -1)}</code>`);
    else if (bold) out.push(html`<strong>${inline(bold.slice(2, -2))}</strong>`);
    else if (italic) out.push(html`<em>${inline(italic.slice(1, -1))}</em>`);
    else if (link) {
      const [, label, url] = link.match(/^\[([^\]]+)\]\(([^)\s]+)\)$/);
      const href = safeHref(url);
      out.push(href ? html`<a href=${href} target="_blank" rel="noopener noreferrer nofollow">${label}</a>` : whole);
    }
    last = m.index + whole.length;
  }
  out.push(html`<${Linkified} text=${text.slice(last)} />`);
  return out;
}

// The blocks of a text: fenced code, then paragraphs of lines (a heading, list or quote line each).
export function Markdown({text}) {
  const blocks = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.startsWith('```')) {
      const code = [];
      while (++i < lines.length && !lines[i].startsWith('```')) code.push(lines[i]);
      blocks.push(html`<pre><code>${code.join('\n')}</code></pre>`);
    } else if (/^#{1,3} /.test(line)) {
      blocks.push(html`<p class="md-heading"><strong>${inline(line.replace(/^#+ /, ''))}</strong></p>`);
    } else if (/^[-*] /.test(line)) {
      const items = [];
      for (; i < lines.length && /^[-*] /.test(lines[i]); i++) items.push(html`<li>${inline(lines[i].slice(2))}</li>`);
      i--;
      blocks.push(html`<ul>${items}</ul>`);
    } else if (line.startsWith('> ')) {
      blocks.push(html`<blockquote>${inline(line.slice(2))}</blockquote>`);
    } else if (line.trim()) {
      blocks.push(html`<p>${inline(line)}</p>`);
    }
  }
  return html`<div class="rich markdown">${blocks}</div>`;
}
