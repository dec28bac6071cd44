#!/usr/bin/env python3
"""layers.py - Checks who may include whom (make layers).

The product folders are layers, lowest first; a file may include headers
of its own layer and of the layers below it, never above:

    lib/ < parsers/ < config/ < labels/ < exporter/

tests/ and tools/ sit on top: they may include any layer.

A private header belongs to its folder: only files of that folder (and
tests/, whose unit tests are white-box) may include it.  A header is
private when its name ends in _internal.h or when PRIVATE lists it.

Every quoted include names its folder ("lib/buf.h", not "buf.h"), but for
the headers the build generates (GENERATED).  Angle-bracket includes are
system headers and are not looked at.

Prints file:line: reason for each violation and exits 1 if there is any.
`layers.py --self-test` first checks the checker on a fixture tree with
known violations (it must report exactly those), then the real tree.
"""

import os
import re
import sys
import tempfile

# Lowest first.
LAYERS = ["lib", "parsers", "config", "labels", "exporter"]
# May include every layer.
TOP = ["tests", "tools"]
# Headers private to their folder, beside the *_internal.h ones: the
# dimension cache, reached through the backends (labels/dims_internal.h).
PRIVATE = {"labels/dims_cache.h", "labels/dims_table.h"}
# May include private headers of other folders.
WHITE_BOX = {"tests"}
# Written into the build directory by the Makefile.
GENERATED = {"revision.h", "suites.h"}

INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')


def rank(folder):
    if folder in LAYERS:
        return LAYERS.index(folder)
    if folder in TOP:
        return len(LAYERS)
    return None


def is_private(header):
    return header.endswith("_internal.h") or header in PRIVATE


def sources(root):
    """Every .c and .h of the layers and of tests/ and tools/, sorted."""
    out = []
    for top in LAYERS + TOP:
        for d, dirs, files in os.walk(os.path.join(root, top)):
            dirs[:] = sorted(x for x in dirs if not x.startswith("."))
            for f in sorted(files):
                if f.endswith((".c", ".h")):
                    out.append(os.path.relpath(os.path.join(d, f), root))
    return out


def check(root):
    """Returns (violations, files, includes); a violation is
    (path, line, reason)."""
    bad = []
    nfiles = nincl = 0
    for path in sources(root):
        nfiles += 1
        folder = path.split(os.sep)[0]
        mine = rank(folder)
        with open(os.path.join(root, path), encoding="utf-8",
                  errors="replace") as fh:
            for lineno, line in enumerate(fh, 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                nincl += 1
                hdr = m.group(1)
                if "/" not in hdr:
                    if hdr not in GENERATED:
                        bad.append((path, lineno, '"%s" names no folder '
                                    '(write "folder/%s")' % (hdr, hdr)))
                    continue
                target = hdr.split("/")[0]
                theirs = rank(target)
                if theirs is None:
                    bad.append((path, lineno, '"%s": %s/ is not a layer'
                                % (hdr, target)))
                    continue
                if theirs > mine:
                    bad.append((path, lineno, '"%s" points up: %s/ may '
                                'include only %s' % (hdr, folder, ", ".join(
                                    x + "/" for x in LAYERS[:mine + 1]))))
                if (is_private(hdr) and target != folder
                        and folder not in WHITE_BOX):
                    bad.append((path, lineno, '"%s" is private to %s/'
                                % (hdr, target)))
    return bad, nfiles, nincl


# The fixture of --self-test: path -> text, and the violations expected
# as (path, line, start of the reason).
FIXTURE = {
    "lib/buf.h": '#include <stddef.h>\n',
    "lib/buf.c": '#include "lib/buf.h"\n#include "parsers/json.h"\n',
    "parsers/json.h": '#include "lib/buf.h"\n',
    "config/config.c": '#include "lib/hash.h"\n#include "labels/hash.h"\n',
    "labels/dims.c": ('#include "labels/dims_cache.h"\n'
                      '#include "labels/x_internal.h"\n'
                      '  #  include "exporter/log.h"\n'),
    "labels/x_internal.h": '',
    "exporter/main.c": ('#include "revision.h"\n'
                        '#include "labels/dims_cache.h"\n'
                        '#include "exporter/x_internal.h"\n'
                        '#include "labels/x_internal.h"\n'
                        '#include "buf.h"\n'
                        '#include "vendor/foo.h"\n'
                        '#include <stdio.h>\n'
                        '/* #include "exporter/main.h" in a comment */\n'),
    "tests/check_x.c": ('#include "exporter/main.h"\n'
                        '#include "labels/dims_cache.h"\n'),
    "tools/t.c": '#include "exporter/main.h"\n#include "labels/x_internal.h"\n',
}
EXPECTED = [
    ("config/config.c", 2, '"labels/hash.h" points up'),
    ("exporter/main.c", 2, '"labels/dims_cache.h" is private'),
    ("exporter/main.c", 4, '"labels/x_internal.h" is private'),
    ("exporter/main.c", 5, '"buf.h" names no folder'),
    ("exporter/main.c", 6, '"vendor/foo.h": vendor/ is not a layer'),
    ("labels/dims.c", 3, '"exporter/log.h" points up'),
    ("lib/buf.c", 2, '"parsers/json.h" points up'),
    ("tools/t.c", 2, '"labels/x_internal.h" is private'),
]


def self_test():
    with tempfile.TemporaryDirectory() as root:
        for path, text in FIXTURE.items():
            os.makedirs(os.path.join(root, os.path.dirname(path)),
                        exist_ok=True)
            with open(os.path.join(root, path), "w") as fh:
                fh.write(text)
        bad, _, _ = check(root)
    got = sorted(bad)
    ok = (len(got) == len(EXPECTED) and all(
        g[0] == e[0] and g[1] == e[1] and g[2].startswith(e[2])
        for g, e in zip(got, EXPECTED)))
    if not ok:
        print("FAIL  layers self-test: expected")
        for e in EXPECTED:
            print("        %s:%d: %s..." % e)
        print("      got")
        for g in got:
            print("        %s:%d: %s" % g)
        return False
    print("ok    layers self-test: the fixture's %d violations found, "
          "no other" % len(EXPECTED))
    return True


def main(argv):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if "--self-test" in argv and not self_test():
        return 1
    bad, nfiles, nincl = check(root)
    for path, line, reason in bad:
        print("%s:%d: %s" % (path, line, reason))
    if bad:
        print("FAIL  layers: %d violation(s) in %d files" % (len(bad), nfiles))
        return 1
    print("ok    layers: %d files, %d includes, %s" % (
        nfiles, nincl, " < ".join(x + "/" for x in LAYERS)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
