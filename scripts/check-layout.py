#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""check-layout.py - the tree's architecture rules, checked mechanically.

Four checks, each printing what it looked at and what it found:

 1. include direction: which folders a file's #include "..." may reach
    (include/ <- base/ <- arch/ <- host/; guest/ apart; see RULES).
 2. arch-only code: no EM_* machine numbers, per-arch #if, or x86 board
    code (CPUID, PVH boot, MP table, E820, ISA COM ports, x86 vCPU state)
    outside arch/ and tests/.
 3. folder cycles from #include edges: each folder a node (host/<sub>/,
    guest/<sub>/, arch/<arch>/{guest,restorer}/ separately; the host side
    of arch/ is one library, one node). A guest program's include of the
    header its arch part provides, through the per-arch -I the build
    gives it (restorer-blob.c's blob-arch.h), is a plug-in: allowed by 1
    and no edge here.
 4. cycles in the symbol graph of the built objects (needs a meson build
    dir): a file that uses a symbol depends on the file defining it (nm).
    Host side (base, arch, host libraries and the snapvm program as one
    graph): a cycle between libraries or between folders fails; a cycle
    between files of one folder is printed as information. Guest
    programs (meson custom targets compiled in one gcc call, so each
    source is compiled here with the same command and -c, into a temp
    dir): a cycle between files fails; a folder cycle between a guest
    program and its per-arch part under arch/<arch>/ is how the per-arch
    hooks plug in (the include rules allow both directions) and is
    printed as information.

Exit status 0 when every rule holds, 1 otherwise. Only the standard
library; run by `meson test layout` (unit suite), or by hand:
    scripts/check-layout.py [--source-dir DIR] [--build-dir DIR]
"""
import argparse
import collections
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

FOLDERS = ('include', 'base', 'arch', 'host', 'guest', 'tests', 'bench')

# arch/<arch>/guest/ and arch/<arch>/restorer/ are guest code (built into
# the guest programs); the rest of arch/ is host code.
ARCH_GUEST = re.compile(r'^arch/[^/]+/(guest|restorer)/')


def folder(path):
    """A file's node in the folder graphs: host/<sub>, guest/<sub>,
    tests/<sub>, arch/<arch>/guest and arch/<arch>/restorer (guest code,
    one folder per program it plugs into), and whole folders for the rest
    (arch/'s host side is one library: the registry and every arch)."""
    parts = path.split('/')
    if ARCH_GUEST.match(path):
        return '/'.join(parts[:3])
    if parts[0] in ('host', 'guest', 'tests') and len(parts) > 2:
        return '/'.join(parts[:2])
    return parts[0]


def area(path):
    """The rule area a tracked file belongs to."""
    if ARCH_GUEST.match(path):
        return 'arch-guest'
    return path.split('/', 1)[0]


# area of the including file -> areas its #include "..." may reach, and why
RULES = {
    'include': ({'include'}, 'the public headers stand alone'),
    'base': ({'include', 'base'}, 'base/ is the bottom host library'),
    'arch': ({'include', 'base', 'arch'}, 'arch/ builds on base/ only'),
    'arch-guest': ({'include', 'guest', 'arch-guest'},
                   'per-arch guest code plugs into guest/ and never reads host code'),
    'guest': ({'include', 'guest'}, 'guest programs never include host/, base/ or arch/'),
    'host': ({'include', 'base', 'arch', 'host'}, 'host/ builds on include/, base/, arch/'),
    'tests': (None, 'tests may include anything'),
    'bench': (None, 'benchmarks may include anything'),
}

# Code outside arch/ (and tests/) must not know which arch it runs for.
# Matched in code with comments and string literals blanked out.
ARCH_ONLY = [
    ('EM_* machine number (ask the arch table: sv_arch_by_elf_machine)',
     re.compile(r'\bEM_[A-Z0-9_]+\b')),
    ('per-arch #if (per-arch code lives under arch/<arch>/)',
     re.compile(r'^\s*#\s*(el)?if.*\b__(x86_64|i386|aarch64|arm|riscv|powerpc64)__\b', re.M)),
    ('CPUID (x86)', re.compile(r'cpuid', re.I)),
    ('PVH boot (x86)', re.compile(r'pvh|XEN_ELFNOTE|\bhvm_(start_info|memmap)', re.I)),
    ('MP table (x86)', re.compile(r'mptable|\bmpc_[a-z]+|\bMP_(CPU|IOAPIC|INTSRC|BUS)\b', re.I)),
    ('E820 memory map (x86)', re.compile(r'\be820', re.I)),
    ('ISA COM port (x86)', re.compile(r'\b0x(3f8|2f8|3e8|2e8)\b|(?<![a-z])COM[1-4]\b', re.I)),
    ('x86 vCPU state (segments, XCRs, XSAVE ioctls)',
     re.compile(r'\bkvm_(sregs|segment|xcrs|xsave|dtable)\b|'
                r'\bKVM_(GET|SET)_(SREGS|XCRS|XSAVE|LAPIC|MSRS|FPU|TSS_ADDR|IDENTITY_MAP_ADDR)\b|'
                r'\bKVM_CAP_(XCRS|XSAVE|EXT_CPUID)\b|\bKVM_CREATE_PIT2\b')),
]
ARCH_ONLY_AREAS = ('include', 'base', 'host', 'guest', 'bench')
# (path, rule name) pairs allowed to break an ARCH_ONLY rule; keep it empty.
ARCH_ONLY_ALLOW = set()

INCLUDE_RE = re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.M)


def tracked_files(src):
    """Tracked .c/.h files under FOLDERS (git if it is a checkout, else a walk)."""
    try:
        out = subprocess.run(['git', '-C', src, 'ls-files', '--', '*.c', '*.h'],
                             capture_output=True, text=True, check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        out = []
        for top in FOLDERS:
            for d, _, names in os.walk(os.path.join(src, top)):
                out += [os.path.relpath(os.path.join(d, n), src) for n in names
                        if n.endswith(('.c', '.h'))]
    return sorted(f for f in out if f.split('/', 1)[0] in FOLDERS
                  and os.path.exists(os.path.join(src, f)))


def blank_comments_and_strings(text):
    """The text with comments and string/char literals replaced by spaces
    (newlines kept, so line numbers stay)."""
    pat = re.compile(r'/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', re.S)
    return pat.sub(lambda m: re.sub(r'[^\n]', ' ', m.group(0)), text)


def line_of(text, pos):
    return text.count('\n', 0, pos) + 1


class Report:
    def __init__(self):
        self.failed = []

    def section(self, title):
        print(f'\n== {title}')

    def fail(self, check, count):
        if count:
            self.failed.append(f'{check}: {count}')


def include_dirs_from_build(build):
    """Extra -I directories that targets use, e.g. arch/<arch>/restorer/
    for the restorer blob's blob-arch.h (the build dir's own left out:
    nothing there is a file of the tree)."""
    dirs = set()
    for t in load_targets(build) or []:
        for ts in t['target_sources']:
            for a in ts.get('compiler', []) + ts.get('parameters', []):
                d = os.path.normpath(a[2:])
                if a.startswith('-I') and not (d + os.sep).startswith(build + os.sep):
                    dirs.add(d)
    return dirs


def resolve_include(src, including, name, extra_dirs):
    """The tracked files an #include "name" in `including` can mean, and
    whether they were found only through a per-target -I dir: the
    including file's folder first, then the tree's own -I dirs (the source
    root, include/), then per-target ones, which give one file per arch
    (a plug-in: generic code names a header every arch provides)."""
    here = os.path.normpath(os.path.join(os.path.dirname(including), name))
    if os.path.isfile(os.path.join(src, here)):
        return [here], False
    for d in ('', 'include'):
        p = os.path.normpath(os.path.join(d, name))
        if os.path.isfile(os.path.join(src, p)):
            return [p], False
    found = []
    for d in sorted(extra_dirs):
        rel = os.path.relpath(d, src)
        if rel.startswith('..'):
            continue
        p = os.path.normpath(os.path.join(rel, name))
        if os.path.isfile(os.path.join(src, p)):
            found.append(p)
    return found, True


def include_edges(src, files, extra_dirs):
    """(including file, line, included file, plug-in?) for every
    #include "..." of ours, and the ones naming no file of the tree."""
    edges, unresolved = [], []
    for f in files:
        text = open(os.path.join(src, f), errors='replace').read()
        for m in INCLUDE_RE.finditer(text):
            targets, plugin = resolve_include(src, f, m.group(1), extra_dirs)
            if not targets:
                unresolved.append((f, line_of(text, m.start()), m.group(1)))
            for t in targets:
                edges.append((f, line_of(text, m.start()), t, plugin))
    return edges, unresolved


def is_plugin(f, t, plugin):
    """A guest program including, through the per-arch -I dir the build
    gives it, the header its arch part provides (restorer-blob.c's
    blob-arch.h): allowed, and no edge of the folder graph."""
    return plugin and area(f) == 'guest' and area(t) == 'arch-guest'


def check_include_direction(rep, edges, unresolved, files):
    rep.section('include direction (#include "..." between the tree\'s folders)')
    for a, (allowed, why) in RULES.items():
        reach = 'anything' if allowed is None else ', '.join(sorted(allowed))
        print(f'  {a + "/" if a != "arch-guest" else "arch/*/{guest,restorer}/"}: {reach}'
              f' -- {why}')
    bad, plugins = [], []
    for f, line, t, plugin in edges:
        allowed = RULES[area(f)][0]
        if is_plugin(f, t, plugin):
            plugins.append(f'{f}:{line}: includes {t} (through the build\'s per-arch -I)')
        elif allowed is not None and area(t) not in allowed:
            bad.append(f'{f}:{line}: includes {t} ({area(f)} may not reach {area(t)})')
    print(f'  checked {len(edges)} includes in {len(files)} files: {len(bad)} break the rules')
    for b in bad:
        print(f'  FAIL {b}')
    for p in plugins:
        print(f'  plug-in {p}')
    for f, line, name in unresolved:
        print(f'  note {f}:{line}: "{name}" is not a file of the tree (generated or system)')
    rep.fail('include direction', len(bad))


def check_arch_only(rep, src, files):
    rep.section('arch-only code outside arch/ (' + ', '.join(a + '/' for a in ARCH_ONLY_AREAS)
                + ')')
    for name, _ in ARCH_ONLY:
        print(f'  rule: {name}')
    hits = collections.defaultdict(list)
    checked = 0
    for f in files:
        if area(f) not in ARCH_ONLY_AREAS:
            continue
        checked += 1
        raw = open(os.path.join(src, f), errors='replace').read()
        code = blank_comments_and_strings(raw)
        lines = raw.split('\n')
        for name, pat in ARCH_ONLY:
            if (f, name) in ARCH_ONLY_ALLOW:
                continue
            seen = set()
            for m in pat.finditer(code):
                n = line_of(code, m.start())
                if n not in seen:
                    seen.add(n)
                    hits[name].append(f'{f}:{n}: {lines[n - 1].strip()[:90]}')
    total = sum(len(v) for v in hits.values())
    print(f'  checked {checked} files: {total} lines break a rule')
    for name, _ in ARCH_ONLY:
        if hits[name]:
            print(f'  FAIL {name}: {len(hits[name])} lines in '
                  f'{len({h.split(":")[0] for h in hits[name]})} files')
            for h in hits[name]:
                print(f'    {h}')
    rep.fail('arch-only code', total)


def tarjan(nodes, succ):
    """Strongly connected components (Tarjan), iterative; each a sorted list."""
    index, low, on_stack, stack, comps = {}, {}, set(), [], []
    counter = 0
    for root in sorted(nodes):
        if root in index:
            continue
        work = [(root, iter(sorted(succ.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(succ.get(w, ())))))
                    advanced = True
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                comps.append(sorted(comp))
    return [c for c in comps if len(c) > 1]


def print_component(comp, why, indent='    ', limit=6):
    """The edges inside one strongly connected component, with what each
    edge is made of (symbols, or file pairs with their symbols, or include
    lines), at most `limit` each."""
    members = set(comp)
    for a in comp:
        for b in sorted(why.get(a, {})):
            if b not in members:
                continue
            items = sorted(why[a][b])
            more = f', ... ({len(items)} in all)' if len(items) > limit else ''
            if max(len(i) for i in items) < 60:
                print(f'{indent}{a} -> {b}: {", ".join(items[:limit])}{more}')
                continue
            print(f'{indent}{a} -> {b}:' + (f' ({len(items)}, the first {limit})' if more else ''))
            for i in items[:limit]:
                print(f'{indent}    {i}')


def check_include_cycles(rep, edges):
    rep.section('folder cycles from #include edges (each folder a node)')
    succ, why = collections.defaultdict(set), collections.defaultdict(lambda: collections.defaultdict(set))
    for f, line, t, plugin in edges:
        a, b = folder(f), folder(t)
        if a != b and not is_plugin(f, t, plugin):
            succ[a].add(b)
            why[a][b].add(f'{f}:{line} includes {os.path.basename(t)}')
    nodes = set(succ) | {b for s in succ.values() for b in s}
    comps = tarjan(nodes, succ)
    print(f'  {len(nodes)} folders, {sum(len(s) for s in succ.values())} folder edges: '
          f'{len(comps)} cycles')
    for c in comps:
        print(f'  FAIL cycle between {len(c)} folders: {", ".join(c)}')
        print_component(c, why)
    rep.fail('folder cycles (includes)', len(comps))


def load_targets(build):
    path = os.path.join(build, 'meson-info', 'intro-targets.json') if build else None
    if not path or not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def label(path, src, build):
    """A file's name for the report: relative to the source tree, or
    <build>/... for generated sources."""
    path = os.path.normpath(path)
    if path.startswith(os.path.normpath(build) + os.sep):
        return '<build>/' + os.path.relpath(path, build)
    return os.path.relpath(path, src)


def nm_symbols(objects):
    """{object: (defined set, undefined set)} from one nm run over all of them."""
    res = {o: (set(), set()) for o in objects}
    if not objects:
        return res
    out = subprocess.run(['nm', '-P', '-A'] + sorted(objects), capture_output=True, text=True,
                         check=True).stdout
    for line in out.splitlines():
        # "file.o: symbol T 0000 0010" (a member of an archive would be file[member])
        head, _, rest = line.partition(': ')
        parts = rest.split()
        if len(parts) < 2 or head not in res:
            continue
        sym, kind = parts[0], parts[1]
        if kind == 'U':
            res[head][1].add(sym)
        elif kind in 'TDBRCGSVW':
            res[head][0].add(sym)
    return res


def symbol_graph(nodes_of_obj, syms):
    """File graph: succ[a] = files defining what a uses; why[a][b] = symbols."""
    where = collections.defaultdict(set)
    for o, (defined, _) in syms.items():
        for s in defined:
            where[s].add(nodes_of_obj[o])
    succ = collections.defaultdict(set)
    why = collections.defaultdict(lambda: collections.defaultdict(set))
    for o, (_, undefined) in syms.items():
        a = nodes_of_obj[o]
        for s in undefined:
            for b in where.get(s, ()):
                if b != a:
                    succ[a].add(b)
                    why[a][b].add(s)
    return succ, why


def collapse(succ, why, group):
    """The graph with each node replaced by group(node); edges inside a
    group dropped; why keeps 'file -> file: symbols' strings."""
    gsucc = collections.defaultdict(set)
    gwhy = collections.defaultdict(lambda: collections.defaultdict(set))
    for a, bs in succ.items():
        for b in bs:
            ga, gb = group(a), group(b)
            if ga != gb:
                gsucc[ga].add(gb)
                syms = sorted(why[a][b])
                gwhy[ga][gb].add(f'{a} uses {", ".join(syms[:3])}'
                                 + (f' (+{len(syms) - 3})' if len(syms) > 3 else '')
                                 + f' of {b}')
    return gsucc, gwhy


def host_objects(build, src, targets):
    """{object path: (source label, target name)} for the host code that
    makes up snapvm: every C target not defined under tests/ or bench/."""
    cc_path = os.path.join(build, 'compile_commands.json')
    with open(cc_path) as f:
        commands = json.load(f)
    private = {}
    for t in targets:
        if t['type'] == 'custom' or not t['filename']:
            continue
        defined = os.path.relpath(t['defined_in'], src)
        if defined.startswith(('tests/', 'bench/')):
            continue
        rel = os.path.relpath(t['filename'][0], build)
        private[rel + '.p/'] = t['name']
    objs = {}
    for e in commands:
        out = e['output']
        for prefix, name in private.items():
            if out.startswith(prefix):
                source = os.path.normpath(os.path.join(e['directory'], e['file']))
                objs[os.path.join(build, out)] = (label(source, src, build), name)
    return objs


def guest_programs(targets, src):
    """(name, compiler argv without output/input, sources) for the guest
    programs: custom targets that compile several C sources, guest/ ones
    among them, with one gcc call."""
    progs = []
    for t in targets:
        if t['type'] != 'custom':
            continue
        for ts in t['target_sources']:
            argv = ts.get('compiler', [])
            sources = [s for s in ts.get('sources', []) if s.endswith('.c')]
            if not argv or not os.path.basename(argv[0]).endswith('gcc') or len(sources) < 2:
                continue
            if not any(os.path.relpath(s, src).startswith('guest/') for s in sources):
                continue
            cmd = []
            skip = False
            for a in argv:
                if skip:
                    skip = False
                    continue
                if a == '-o':
                    skip = True
                    continue
                if a == '@INPUT@' or a.startswith('-Wl,'):
                    continue
                cmd.append(a)
            progs.append((t['name'], cmd, sources))
    return progs


def compile_guest(cmd, sources, tmp):
    """Each source compiled alone (-c) with the program's own command."""
    def one(i_src):
        i, s = i_src
        obj = os.path.join(tmp, f'{i}-{os.path.basename(s)}.o')
        r = subprocess.run(cmd + ['-c', s, '-o', obj], capture_output=True, text=True)
        if r.returncode:
            raise RuntimeError(f'{" ".join(shlex.quote(a) for a in cmd)} -c {s}:\n{r.stderr}')
        return obj, s
    with ThreadPoolExecutor(max(1, min(2, os.cpu_count() or 1))) as ex:
        return list(ex.map(one, enumerate(sources)))


def check_symbol_cycles(rep, src, build):
    rep.section('cycles in the symbol graph of the built objects (nm)')
    targets = load_targets(build)
    if targets is None or not os.path.exists(os.path.join(build, 'compile_commands.json')):
        print(f'  FAIL no meson build in {build!r} (meson-info/intro-targets.json and '
              'compile_commands.json): build first, or pass --build-dir')
        rep.fail('symbol graph', 1)
        return

    # Host: base, arch, host libraries and the snapvm program, one graph.
    objs = host_objects(build, src, targets)
    missing = [o for o in objs if not os.path.exists(o)]
    if missing:
        print(f'  FAIL {len(missing)} objects not built yet (first: {missing[0]}): run ninja')
        rep.fail('symbol graph', 1)
        return
    syms = nm_symbols(list(objs))
    node = {o: objs[o][0] for o in objs}
    target_of = {objs[o][0]: objs[o][1] for o in objs}
    succ, why = symbol_graph(node, syms)
    by_target = collections.Counter(t for _, t in objs.values())
    print('  host: ' + ', '.join(f'{t} ({n} objects)' for t, n in sorted(by_target.items()))
          + f': {sum(len(s) for s in succ.values())} file edges')

    lsucc, lwhy = collapse(succ, why, lambda f: target_of[f])
    lib_cycles = tarjan(set(target_of.values()), lsucc)
    print(f'  host, between libraries and programs: {len(lib_cycles)} cycles')
    for c in lib_cycles:
        print(f'  FAIL cycle between {", ".join(c)}')
        print_component(c, lwhy, limit=3)
    rep.fail('symbol cycles between host libraries', len(lib_cycles))

    fsucc, fwhy = collapse(succ, why, folder)
    folders = {folder(f) for f in target_of}
    folder_cycles = tarjan(folders, fsucc)
    print(f'  host, between folders ({len(folders)} folders): {len(folder_cycles)} cycles')
    for c in folder_cycles:
        print(f'  FAIL cycle between folders {", ".join(c)}')
        print_component(c, fwhy, limit=20)
    rep.fail('symbol cycles between host folders', len(folder_cycles))

    file_cycles = tarjan(set(target_of), succ)
    inside = [c for c in file_cycles if len({folder(f) for f in c}) == 1]
    across = len(file_cycles) - len(inside)
    print(f'  host, between files: {len(file_cycles)} cycles, {across} across folders '
          f'(counted above), {len(inside)} inside one folder (information)')
    for c in file_cycles:
        tag = 'info' if c in inside else 'FAIL'
        print(f'  {tag} cycle between {len(c)} files of {", ".join(sorted({folder(f) for f in c}))}')
        print_component(c, why)

    # Guest programs, each on its own.
    progs = guest_programs(targets, src)
    if not progs:
        print('  guest: no guest programs in this build (no guest gcc?): not checked')
    failed_guest = 0
    with tempfile.TemporaryDirectory(prefix='check-layout-') as tmp:
        for name, cmd, sources in progs:
            d = os.path.join(tmp, name)
            os.mkdir(d)
            try:
                built = compile_guest(cmd, sources, d)
            except RuntimeError as e:
                print(f'  FAIL guest program {name}: cannot compile: {e}')
                failed_guest += 1
                continue
            gnode = {o: label(s, src, build) for o, s in built}
            gsyms = nm_symbols([o for o, _ in built])
            gsucc, gwhy = symbol_graph(gnode, gsyms)
            cycles = tarjan(set(gnode.values()), gsucc)
            fs, fw = collapse(gsucc, gwhy, folder)
            fcycles = tarjan({folder(f) for f in gnode.values()}, fs)
            print(f'  guest program {name}: {len(sources)} files, '
                  f'{sum(len(s) for s in gsucc.values())} file edges: {len(cycles)} file '
                  f'cycles, {len(fcycles)} folder cycles (information)')
            for c in cycles:
                print(f'  FAIL cycle between {len(c)} files in {name}')
                print_component(c, gwhy)
            for c in fcycles:
                print(f'  info folder cycle in {name}: {", ".join(c)}')
                print_component(c, fw, limit=20)
            failed_guest += len(cycles)
    rep.fail('symbol cycles in guest programs', failed_guest)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--source-dir', default=os.path.dirname(here))
    ap.add_argument('--build-dir', help='meson build dir (default: SOURCE/build)')
    args = ap.parse_args()
    src = os.path.abspath(args.source_dir)
    build = os.path.abspath(args.build_dir or os.path.join(src, 'build'))
    print(f'check-layout: source {src}, build {build}')

    rep = Report()
    files = tracked_files(src)
    edges, unresolved = include_edges(src, files, include_dirs_from_build(build))
    check_include_direction(rep, edges, unresolved, files)
    check_arch_only(rep, src, files)
    check_include_cycles(rep, edges)
    check_symbol_cycles(rep, src, build)

    print()
    if rep.failed:
        print('check-layout: FAILED: ' + '; '.join(rep.failed))
        return 1
    print('check-layout: every rule holds')
    return 0


if __name__ == '__main__':
    sys.exit(main())
