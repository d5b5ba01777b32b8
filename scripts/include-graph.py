#!/usr/bin/env python3
"""include-graph.py [--dot] - the folder graph of gateway/ and drivers/,
derived from the #include "..." lines, checked for what gateway/README.md
promises: no cycle between folders, and a folder reached from outside only
through its door header (the one named after it; base/ is a toolbox whose
every header is public). Prints the edges and exits 1 on any violation.
Tests, the simulator and benches may include any header and are not read."""
import os
import re
import sys

TOP = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
ROOTS = ['gateway', 'drivers']
SEARCH = ['gateway', '.']           # the Makefile's -iquote order
DOORS = {'gateway/sinks': 'sink.h', 'drivers': 'driver.h',
         'gateway/sinks/hj212': 'uplink.h'}  # hj212.h is encode/'s
OPEN_FOLDERS = {'gateway/base'}     # every header public
INC = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def resolve(src, name):
    for d in [os.path.dirname(src)] + SEARCH:
        p = os.path.normpath(os.path.join(d, name))
        if os.path.isfile(os.path.join(TOP, p)):
            return p
    return None


def door(folder):
    return DOORS.get(folder, os.path.basename(folder) + '.h')


def main():
    edges, errors = {}, []
    for root in ROOTS:
        for d, _, files in os.walk(os.path.join(TOP, root)):
            for f in sorted(files):
                if not f.endswith(('.c', '.h')):
                    continue
                src = os.path.relpath(os.path.join(d, f), TOP)
                text = open(os.path.join(TOP, src), encoding='utf-8').read()
                for name in INC.findall(text):
                    dst = resolve(src, name)
                    if dst is None:
                        errors.append('%s: "%s" not found' % (src, name))
                        continue
                    a, b = os.path.dirname(src), os.path.dirname(dst)
                    if a == b:
                        continue
                    edges.setdefault(a, {}).setdefault(b, src)
                    if b not in OPEN_FOLDERS and os.path.basename(dst) != door(b):
                        errors.append('%s: includes %s, not %s/%s (the door)'
                                      % (src, dst, b, door(b)))
    if '--dot' in sys.argv:
        print('digraph outfall {')
        for a in sorted(edges):
            for b in sorted(edges[a]):
                print('  "%s" -> "%s";' % (a, b))
        print('}')
    else:
        for a in sorted(edges):
            print('%-22s -> %s' % (a, ' '.join(sorted(edges[a]))))
    errors += cycles(edges)
    for e in errors:
        print('include-graph: ' + e, file=sys.stderr)
    print('include-graph: %d folders, %d edges, %d problems'
          % (len(set(edges) | {b for v in edges.values() for b in v}),
             sum(len(v) for v in edges.values()), len(errors)))
    return 1 if errors else 0


def cycles(edges):
    """Every cycle found by depth-first search, each named with one file
    per edge so the include to remove is easy to find."""
    found, state = [], {}

    def visit(n, path):
        state[n] = 1
        for m in sorted(edges.get(n, {})):
            if state.get(m) == 1:
                loop = path[path.index(m):] + [m]
                found.append('cycle: ' + ' -> '.join(
                    '%s (%s)' % (x, edges[x][y]) for x, y in zip(loop, loop[1:]))
                             + ' -> ' + m)
            elif m not in state:
                visit(m, path + [m])
        state[n] = 2

    for n in sorted(edges):
        if n not in state:
            visit(n, [n])
    return found


if __name__ == '__main__':
    sys.exit(main())
