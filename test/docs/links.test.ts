/// <reference types="vite/client" />
// Every relative link in README.md and docs/**/*.md leads somewhere: to a file of the repository and,
// with `#anchor`, to a heading that exists there (GitHub's anchors). Docs that moved between files keep
// working for the reader who follows a link.
import { describe, expect, it } from 'vitest';
import { anchorsOf, relativeLinksOf, resolvePath } from './markdown';

const docs = import.meta.glob(['../../README.md', '../../docs/**/*.md'], { query: '?raw', import: 'default', eager: true }) as Record<string, string>;
// Only the names: a link may point at any file of the repository (a test, a script), which is never loaded here.
const repoFiles = new Set(
  Object.keys(import.meta.glob(['../../**/*', '!../../node_modules/**', '!../../.git/**', '!../../.wrangler/**', '!../../bench/results*'])).map((path) => path.replace('../../', '')),
);

const byPath = new Map(Object.entries(docs).map(([path, text]) => [path.replace('../../', ''), text]));
const directories = new Set([...repoFiles].flatMap((file) => file.split('/').slice(0, -1).map((_, i, parts) => parts.slice(0, i + 1).join('/'))));

interface Link {
  where: string;
  file: string;
  target: string;
}

const links: Link[] = [...byPath].flatMap(([file, text]) => relativeLinksOf(text).map(({ line, target }) => ({ where: `${file}:${line}`, file, target })));

describe('links between the docs', () => {
  it('there are links to check, and the docs are found', () => {
    expect(byPath.has('README.md')).toBe(true);
    expect(byPath.has('docs/configuration.md')).toBe(true);
    expect(links.length).toBeGreaterThan(50);
  });

  it.each(links.map((link) => [`${link.where} → ${link.target}`, link] as const))('%s resolves', (_name, link) => {
    const [pathPart, anchor] = link.target.split('#', 2) as [string, string | undefined];
    const target = pathPart === '' ? link.file : resolvePath(link.file, decodeURI(pathPart));
    expect(repoFiles.has(target) || directories.has(target.replace(/\/$/, '')), `${link.where}: no file ${target}`).toBe(true);
    if (anchor === undefined) return;
    const text = byPath.get(target);
    expect(text, `${link.where}: #${anchor} points into ${target}, which is not a Markdown doc`).toBeDefined();
    expect([...anchorsOf(text!)], `${link.where}: no heading #${anchor} in ${target}`).toContain(decodeURIComponent(anchor));
  });
});
