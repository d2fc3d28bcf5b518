/**
 * Syntax highlighting with highlight.js (core plus the languages a web school
 * reviews; about 60 kB minified instead of the 1 MB full build). Output is
 * split into lines so each line can carry its number and comments; spans that
 * cross a newline are closed and reopened. highlight.js escapes the code, so
 * its HTML is safe to insert.
 */
import hljs from 'highlight.js/lib/core';
import bash from 'highlight.js/lib/languages/bash';
import c from 'highlight.js/lib/languages/c';
import cpp from 'highlight.js/lib/languages/cpp';
import csharp from 'highlight.js/lib/languages/csharp';
import css from 'highlight.js/lib/languages/css';
import diff from 'highlight.js/lib/languages/diff';
import go from 'highlight.js/lib/languages/go';
import java from 'highlight.js/lib/languages/java';
import javascript from 'highlight.js/lib/languages/javascript';
import json from 'highlight.js/lib/languages/json';
import markdown from 'highlight.js/lib/languages/markdown';
import php from 'highlight.js/lib/languages/php';
import plaintext from 'highlight.js/lib/languages/plaintext';
import python from 'highlight.js/lib/languages/python';
import ruby from 'highlight.js/lib/languages/ruby';
import scss from 'highlight.js/lib/languages/scss';
import sql from 'highlight.js/lib/languages/sql';
import typescript from 'highlight.js/lib/languages/typescript';
import xml from 'highlight.js/lib/languages/xml';
import yaml from 'highlight.js/lib/languages/yaml';

const LANGUAGES = { bash, c, cpp, csharp, css, diff, go, java, javascript, json, markdown, php, plaintext, python, ruby, scss, sql, typescript, xml, yaml };
for (const [name, fn] of Object.entries(LANGUAGES)) hljs.registerLanguage(name, fn);

const BY_EXTENSION: Record<string, string> = {
  js: 'javascript', mjs: 'javascript', cjs: 'javascript', jsx: 'javascript',
  ts: 'typescript', tsx: 'typescript', mts: 'typescript', cts: 'typescript',
  py: 'python', rb: 'ruby', go: 'go', java: 'java', php: 'php', cs: 'csharp',
  c: 'c', h: 'c', cc: 'cpp', cpp: 'cpp', hpp: 'cpp',
  css: 'css', scss: 'scss', html: 'xml', htm: 'xml', xml: 'xml', svg: 'xml', vue: 'xml',
  json: 'json', md: 'markdown', sh: 'bash', bash: 'bash', zsh: 'bash',
  sql: 'sql', yml: 'yaml', yaml: 'yaml', diff: 'diff', patch: 'diff', txt: 'plaintext',
};

/** Language of a file name (by extension), or undefined. */
export function languageOf(name: string): string | undefined {
  const ext = name.toLowerCase().split('.').pop() ?? '';
  return BY_EXTENSION[ext];
}

export const knownLanguage = (lang: string | null | undefined): lang is string => !!lang && hljs.getLanguage(lang) !== undefined;

/** Splits highlight.js HTML into lines, closing and reopening spans at each newline. */
export function splitHighlighted(html: string): string[] {
  const lines: string[] = [];
  const open: string[] = [];
  let line = '';
  const re = /<span[^>]*>|<\/span>|\n/g;
  let last = 0;
  for (let m = re.exec(html); m; m = re.exec(html)) {
    line += html.slice(last, m.index);
    last = re.lastIndex;
    if (m[0] === '\n') {
      lines.push(line + '</span>'.repeat(open.length));
      line = open.join('');
    } else if (m[0] === '</span>') {
      open.pop();
      line += m[0];
    } else {
      open.push(m[0]);
      line += m[0];
    }
  }
  line += html.slice(last);
  lines.push(line);
  return lines;
}

/** Highlighted HTML of each line (as many as the server counts: a trailing newline adds none). */
export function highlightLines(content: string, language: string | null): string[] {
  const code = content.replace(/\r\n?/g, '\n');
  const lang = knownLanguage(language) ? language : undefined;
  const html = lang ? hljs.highlight(code, { language: lang, ignoreIllegals: true }).value : hljs.highlightAuto(code).value;
  const lines = splitHighlighted(html);
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}
