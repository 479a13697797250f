#!/usr/bin/env python3
"""Import graph between the files of Rust crates, and the loops (cycles) in it.

usage: python3 .ci/import_graph.py [--dot] CRATE_SRC_DIR...     (e.g. `src emulator/src`)

Each CRATE_SRC_DIR is one crate, checked on its own. lib.rs/main.rs is the crate root, `a.rs` and
`a/mod.rs` are module `a`, `a/b.rs` is `a::b`; files under a `tests/` directory are not scanned.
Comments, strings (raw and byte strings too), char literals and `#[cfg(test)] mod NAME { ... }`
blocks are blanked out before anything is read: unit tests are not part of the layering.

An edge A -> B means that code in file A names something defined in file B, through
  * a path starting with `crate::`, `$crate::` (in macros), `super::` or `self::`, in a `use`
    (grouped imports such as `use crate::{a::X, b::{Y, Z}}` are expanded) or anywhere in the code,
    macro invocations like `crate::events::name!(...)` included;
  * a path starting with a child module declared in A (`mod child;` ... `child::item`,
    `pub use child::Item;`), or with a name A imported through one of the above
    (`use crate::query;` ... `query::parse(...)`).
A path resolves to the deepest module file that exists. If a name follows it (`crate::Name`,
`super::Name`, `crate::social::Name`), that name is looked up in the `use` declarations of that
file (its re-exports, e.g. lib.rs's `pub use web_service::WebService;`) and followed, hop by hop,
to the file that defines it; `pub use m::*` globs are tried too. A `macro_rules! name` exported
with `pub(crate) use name;` is thus defined in its own file. Names defined in the crate root
resolve to the root; edges into the root and out of it are dropped (it only declares modules and
re-exports), and so are self-edges.

Prints each loop (the files of the strongly connected component, and a shortest cycle with the
line making each hop), then `N files, M edges, K loops`; `--dot` prints the graph in Graphviz
form instead (loop edges red). Exit status: 0 when there is no loop, 1 when there is one.
"""
import os, re, sys
from collections import deque

IDENT = r'[A-Za-z_]\w*'
TEST_MOD = re.compile(r'#\[cfg\(test\)\]\s*(?:#\[[^\]]*\]\s*)*(?:pub(?:\([^)]*\))?\s+)?mod\s+\w+\s*\{')
USE = re.compile(r'\buse\s+([^;]*);')
PATH = re.compile(r'(?<![\w:$])(\$crate|' + IDENT + r')((?:\s*::\s*' + IDENT + r')+)')
DEF = re.compile(r'\b(?:fn|struct|enum|union|trait|type|const|static|mod)\s+(' + IDENT + r')'
                 r'|\bmacro_rules!\s*(' + IDENT + r')')
TOK = re.compile(r'\$?\w+|::|[{},*]')


def blank(text):
    return re.sub(r'[^\n]', ' ', text)


def strip(src):
    """Blank out comments, strings (incl. raw/byte strings) and char literals, keeping offsets."""
    out, i, n = [], 0, len(src)
    while i < n:
        c = src[i]
        raw = re.match(r'b?r(#*)"', src[i:i + 40]) if c in 'br' else None
        if raw and (i == 0 or not (src[i - 1].isalnum() or src[i - 1] == '_')):
            end = '"' + raw.group(1)
            j = src.find(end, i + len(raw.group(0)))
            j = n if j < 0 else j + len(end)
        elif src.startswith('//', i):
            j = src.find('\n', i)
            j = n if j < 0 else j
        elif src.startswith('/*', i):
            depth, j = 1, i + 2
            while j < n and depth:
                if src.startswith('/*', j): depth, j = depth + 1, j + 2
                elif src.startswith('*/', j): depth, j = depth - 1, j + 2
                else: j += 1
        elif c == '"':
            j = i + 1
            while j < n and src[j] != '"':
                j += 2 if src[j] == '\\' else 1
            j += 1
        elif c == "'" and re.match(r"'(\\[^']+|[^\\'])'", src[i:i + 12]):
            j = i + len(re.match(r"'(\\[^']+|[^\\'])'", src[i:i + 12]).group(0))
        else:
            out.append(c); i += 1
            continue
        out.append(blank(src[i:j])); i = j
    return ''.join(out)


def drop_tests(s):
    """Blank `#[cfg(test)] mod NAME { ... }` blocks (up to the matching brace)."""
    while (m := TEST_MOD.search(s)):
        depth, k = 0, m.end() - 1
        while k < len(s):
            depth += {'{': 1, '}': -1}.get(s[k], 0)
            if depth == 0: break
            k += 1
        s = s[:m.start()] + blank(s[m.start():k + 1]) + s[k + 1:]
    return s


def use_tree(text, offset):
    """`a::{b, c::{D as E, self}}` -> [(segments, alias, offset of last segment), ...]."""
    toks = [(m.group(), offset + m.start()) for m in TOK.finditer(text)]
    out = []

    def walk(i, prefix):
        segs, pos = list(prefix), offset
        while i < len(toks):
            t, p = toks[i]
            if t == '::': i += 1; continue
            if t == '{':
                i += 1
                while toks[i][0] != '}':
                    i = walk(i, segs)
                    if toks[i][0] == ',': i += 1
                return i + 1
            if t == '*':
                out.append((segs, '*', p)); return i + 1
            segs, pos, i = segs + [t], p, i + 1
            if i >= len(toks) or toks[i][0] != '::': break
        alias = segs[-1]
        if i < len(toks) and toks[i][0] == 'as': alias, i = toks[i + 1][0], i + 2
        if segs[-1] == 'self' and len(segs) > 1:
            segs = segs[:-1]
            alias = segs[-1] if alias == 'self' else alias
        out.append((segs, alias, pos))
        return i
    try: walk(0, [])
    except IndexError: pass  # unbalanced braces: keep what was parsed so far
    return out


def absolute(segs, me, kids, aliases):
    """Module-absolute path (tuple) of a path written in module `me`, or None if external."""
    head = segs[0]
    if head in ('crate', '$crate'): return tuple(segs[1:])
    if head in ('self', 'super'):
        base, i = list(me), 1 if head == 'self' else 0
        while i < len(segs) and segs[i] == 'super': base, i = base[:-1], i + 1
        return tuple(base) + tuple(segs[i:])
    if head in kids: return tuple(me) + tuple(segs)
    if head in aliases: return aliases[head] + tuple(segs[1:])
    return None


def read_crate(d):
    """Files of one crate -> (mods: module tuple -> file, info: file -> parsed facts)."""
    mods, info = {}, {}
    for root, dirs, names in os.walk(d):
        dirs[:] = sorted(x for x in dirs if x != 'tests')
        for name in sorted(n for n in names if n.endswith('.rs')):
            f = os.path.join(root, name)
            parts = os.path.relpath(f, d)[:-3].split(os.sep)
            is_root = len(parts) == 1 and parts[0] in ('lib', 'main')
            me = () if is_root else tuple(parts[:-1] if parts[-1] == 'mod' else parts)
            if me not in mods or f.endswith('lib.rs'): mods[me] = f
            with open(f, encoding='utf-8', errors='replace') as fh:
                s = drop_tests(strip(fh.read()))
            kids = set(re.findall(r'\bmod\s+(' + IDENT + r')\s*;', s))
            defs = {a or b for a, b in DEF.findall(s)}
            aliases, globs, refs = {}, [], []
            line = lambda pos: s.count('\n', 0, pos) + 1
            for m in USE.finditer(s):
                for segs, alias, pos in use_tree(m.group(1), m.start(1)):
                    a = absolute(segs, me, kids, {})
                    if a is None: continue
                    if alias == '*': globs.append(a)
                    elif alias != '_': aliases[alias] = a
                    refs.append((a, line(pos), '::'.join(segs) + ('::*' if alias == '*' else '')))
                s = s[:m.start()] + blank(m.group(0)) + s[m.end():]
            for m in PATH.finditer(s):
                segs = re.sub(r'\s', '', m.group(0)).split('::')
                a = absolute(segs, me, kids, aliases)
                if a is not None: refs.append((a, line(m.start()), '::'.join(segs)))
            info[f] = dict(me=me, root=is_root, defs=defs, uses=aliases, globs=globs, refs=refs)
    return mods, info


def resolve(mods, info, path, seen=()):
    """File defining `path`: deepest module file, then through that file's `use`s and globs."""
    k = len(path)
    while k and path[:k] not in mods: k -= 1
    f = mods.get(path[:k])
    if f is None or k == len(path): return f
    name, u = path[k], info[f]
    if name in u['uses'] and (f, name) not in seen:
        return resolve(mods, info, u['uses'][name] + path[k + 1:], seen + ((f, name),))
    if name not in u['defs'] and (f, '*') not in seen:
        for g in u['globs']:
            t = resolve(mods, info, g + path[k:], seen + ((f, '*'),))
            if t and t != f and (name in info[t]['defs'] or name in info[t]['uses']): return t
    return f


def loops(nodes, edges):
    """Strongly connected components with more than one file (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index); stack.append(v); on.add(v)
        for w in sorted(edges.get(v, {})):
            if w not in index: visit(w); low[v] = min(low[v], low[w])
            elif w in on: low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while not comp or comp[-1] != v:
                comp.append(stack.pop()); on.discard(comp[-1])
            if len(comp) > 1: out.append(sorted(comp))
    sys.setrecursionlimit(max(1000, 10 * len(nodes)))
    for v in nodes:
        if v not in index: visit(v)
    return out


def shortest_cycle(comp, edges):
    """A shortest cycle inside one component, as a list of files (first == last)."""
    best, inside = None, set(comp)
    for start in comp:
        prev, q = {start: None}, deque([start])
        while q:
            v = q.popleft()
            if start in edges[v]:
                path = [start]
                while v is not None: path.append(v); v = prev[v]
                path = path[::-1]
                if best is None or len(path) < len(best): best = path
                break
            for w in sorted(edges[v]):
                if w in inside and w not in prev: prev[w] = v; q.append(w)
    return best


def main(argv):
    dot = '--dot' in argv
    dirs = [a for a in argv if a != '--dot']
    if not dirs or any(a.startswith('-') for a in dirs):
        print(__doc__.split('\n\n')[1], file=sys.stderr)
        return 2
    nodes, edges = [], {}
    for d in dirs:
        mods, info = read_crate(d.rstrip('/'))
        for f, u in info.items():
            nodes.append(f); edges[f] = {}
            for path, line, text in u['refs']:
                t = resolve(mods, info, path)
                if t is None or t == f or u['root'] or info[t]['root']: continue
                if t not in edges[f] or line < edges[f][t][0]: edges[f][t] = (line, text)
    comps = loops(nodes, edges)
    if dot:
        in_loop = {f: i for i, c in enumerate(comps) for f in c}
        print('digraph imports {\n  rankdir=LR;\n  node [shape=box, fontsize=10];')
        for f in nodes:
            print(f'  "{f}";')
            for t, (line, _) in sorted(edges[f].items()):
                red = ', color=red' if in_loop.get(f, -1) == in_loop.get(t, -2) else ''
                print(f'  "{f}" -> "{t}" [label="{line}"{red}];')
        print('}')
    else:
        for i, comp in enumerate(comps, 1):
            print(f'import loop {i} ({len(comp)} files): ' + ', '.join(comp))
            cycle = shortest_cycle(comp, edges)
            print('  cycle: ' + ' -> '.join(cycle))
            for a, b in zip(cycle, cycle[1:]):
                line, text = edges[a][b]
                print(f'    {a}:{line}: {text}  ->  {b}')
        print(f'{len(nodes)} files, {sum(map(len, edges.values()))} edges, {len(comps)} loops')
    return 1 if comps else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
