#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""file-deps.py - the file-level call graph of one program, from its symbols,
and whether it has a circle.

    scripts/file-deps.py [--cc CC] [--nm NM] [--root DIR] [--cflag FLAG]...
                         [--show-edges] FILE...

Each FILE is a C source (compiled here with CC -c and the --cflag flags into
a temporary directory) or an object file (read as it is, e.g. from a meson
build directory). `nm` says what each object defines (T, D, B, R, ...) and
what it uses (U); file A depends on file B when A uses a symbol B defines.
The files given must be one program (or one library): a symbol defined in
two of them is an error, as the linker would say.

Prints the dependencies (with --show-edges, each with the symbols it is
made of) and every circle, i.e. each set of files that reach one another
(strongly connected components, Tarjan). Exit status: 0 no circle, 1 a
circle, 2 a usage or build error.
"""
import argparse
import os
import subprocess
import sys
import tempfile


def objects_of(files, cc, cflags, tmp):
    """(label, object path) for each file; sources are compiled first."""
    out = []
    for i, path in enumerate(files):
        label = path
        if path.endswith(".c"):
            obj = os.path.join(tmp, "%d-%s.o" % (i, os.path.basename(path)[:-2]))
            cmd = [cc, "-c", "-o", obj] + cflags + [path]
            r = subprocess.run(cmd, stderr=subprocess.PIPE, text=True)
            if r.returncode != 0:
                sys.stderr.write(r.stderr)
                raise SystemExit("file-deps: cannot compile %s: %s" % (path, " ".join(cmd)))
            out.append((label, obj))
        else:
            out.append((label, path))
    return out


def symbols(nm, obj):
    """(defined, undefined) global symbol names of one object."""
    r = subprocess.run([nm, "--format=posix", obj], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise SystemExit("file-deps: %s %s: %s" % (nm, obj, r.stderr.strip()))
    defined, undefined = set(), set()
    for line in r.stdout.splitlines():
        fields = line.split()
        if len(fields) < 2:
            continue
        name, kind = fields[0], fields[1]
        if kind == "U":
            undefined.add(name)
        elif kind.isupper() or kind in ("u", "v", "w"):
            # upper case: global; u unique global, v/w weak (defined)
            defined.add(name)
    return defined, undefined


def circles(nodes, edges):
    """Strongly connected components of more than one node (Tarjan)."""
    index, low, on_stack, stack, out = {}, {}, set(), [], []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in nodes:
        if v not in index:
            visit(v)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cc", default="cc", help="compiler for .c files (default: cc)")
    ap.add_argument("--nm", default="nm", help="nm that reads these objects (default: nm)")
    ap.add_argument("--root", help="print file names relative to this directory")
    ap.add_argument("--cflag", action="append", default=[], help="a flag for --cc (repeat)")
    ap.add_argument("--show-edges", action="store_true", help="print each dependency's symbols")
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()

    def name(path):
        return os.path.relpath(path, args.root) if args.root else path

    with tempfile.TemporaryDirectory(prefix="file-deps-") as tmp:
        objs = objects_of(args.files, args.cc, args.cflag, tmp)
        syms = {label: symbols(args.nm, obj) for label, obj in objs}

    owner = {}
    for label, (defined, _) in syms.items():
        for s in defined:
            if s in owner:
                raise SystemExit("file-deps: %s is defined in both %s and %s"
                                 % (s, name(owner[s]), name(label)))
            owner[s] = label
    edges, via = {}, {}
    for label, (_, undefined) in syms.items():
        for s in sorted(undefined):
            target = owner.get(s)
            if target and target != label:
                edges.setdefault(label, set()).add(target)
                via.setdefault((label, target), []).append(s)

    nodes = [label for label, _ in objs]
    for label in nodes:
        for target in sorted(edges.get(label, ()), key=name):
            line = "%s -> %s" % (name(label), name(target))
            if args.show_edges:
                line += "  (%s)" % ", ".join(via[(label, target)])
            print(line)
    found = circles(nodes, edges)
    for comp in found:
        print("circle: " + " <-> ".join(name(c) for c in comp))
    if found:
        print("file-deps: %d circle(s) among %d files" % (len(found), len(nodes)))
        return 1
    print("file-deps: no circle among %d files" % len(nodes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
