// Checks the API reference `typedoc` just built: every export of every published package has documentation, and
// every link between its pages leads to a page and an anchor that exist. Exits 1 with the list otherwise.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'

const reference = resolve(import.meta.dirname, 'reference')
const project = JSON.parse(readFileSync(join(reference, 'api.json'), 'utf8'))
const problems = []

// ReflectionKind: modules hold exports; a Reference re-exports something documented where it is declared.
const kind = { Module: 2, Namespace: 4, Reference: 4194304 }

const hasText = (comment) => (comment?.summary ?? []).some((part) => part.text.trim() !== '')
const documented = (reflection) =>
  hasText(reflection.comment) ||
  (reflection.signatures ?? []).some((signature) => hasText(signature.comment)) ||
  hasText(reflection.getSignature?.comment) ||
  hasText(reflection.type?.declaration?.signatures?.[0]?.comment)

function checkExports(node, path) {
  for (const child of node.children ?? []) {
    if (child.kind === kind.Module) checkExports(child, child.name === '' ? path : `${path}/${child.name}`)
    else if (child.kind === kind.Reference) continue
    else {
      if (!documented(child)) problems.push(`${path}: the export ${child.name} has no documentation comment`)
      if (child.kind === kind.Namespace) checkExports(child, `${path}.${child.name}`)
    }
  }
}
for (const pkg of project.children ?? []) checkExports(pkg, pkg.name)

function htmlFiles(folder) {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? htmlFiles(join(folder, entry.name))
      : entry.name.endsWith('.html')
        ? [join(folder, entry.name)]
        : [],
  )
}
const anchors = new Map()
const anchorsOf = (file) => {
  if (!anchors.has(file))
    anchors.set(file, new Set([...readFileSync(file, 'utf8').matchAll(/\sid="([^"]+)"/g)].map((m) => m[1])))
  return anchors.get(file)
}
const pages = htmlFiles(reference)
let links = 0
for (const page of pages) {
  for (const [, href] of readFileSync(page, 'utf8').matchAll(/\shref="([^"]*)"/g)) {
    if (/^([a-z]+:|\/\/)/i.test(href)) continue
    links++
    const [path, fragment] = href.split('#')
    const target = path === '' ? page : resolve(dirname(page), decodeURI(path.split('?')[0]))
    if (!existsSync(target)) problems.push(`${relative(reference, page)}: broken link to ${href}`)
    else if (fragment && target.endsWith('.html') && !anchorsOf(target).has(decodeURIComponent(fragment))) {
      problems.push(`${relative(reference, page)}: link to a missing anchor ${href}`)
    }
  }
}

if (problems.length > 0) {
  for (const problem of problems) console.error(problem)
  console.error(`The API reference has ${problems.length} problems.`)
  process.exit(1)
}
console.log(`API reference: ${pages.length} pages, ${links} links, every export documented (${reference})`)
