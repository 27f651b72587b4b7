#!/usr/bin/env python3
"""The include direction of the collector's parts (docs/architecture.md):
each folder of collector/ may include only the folders listed for it, plus
common/, proto's generated headers and itself; sensor/ never includes
collector/. Prints every include that points the wrong way, exits 1 if any.

  tests/tools/check_layers.py [SOURCE_DIR]
  tests/tools/check_layers.py --self-test    # plants a wrong include in a copy and expects a failure
"""
import pathlib
import re
import shutil
import sys
import tempfile

# Who may include whom, bottom to top.
ALLOWED = {
    "decode": set(),
    "auth": {"config"},
    "config": set(),
    "net": {"auth", "config"},
    "core": {"decode"},
    "track": {"core", "decode"},
    "stream": {"core", "decode", "net"},
    "plan": {"core", "config", "decode"},
    "persist": {"core", "decode", "track", "stream", "net"},
    "cluster": {"config"},
    "link": {"core", "decode", "plan", "auth", "net", "config", "cluster"},
    "api": {"core", "decode", "track", "stream", "plan", "persist", "net", "auth", "config", "alerts", "web",
            "cluster"},
    "app": {"core", "decode", "track", "stream", "plan", "persist", "link", "net", "api", "auth", "config", "alerts",
            "web", "cluster"},
    "web": set(),
    "alerts": {"core", "decode", "track", "config", "net"},
}
# Where a part may use only some headers of a folder it may include.
ONLY = {
    ("alerts", "net"): {"http_types.h"},
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"collector/([a-z_]+)/([^"]+)"', re.M)


def check(top):
    top = pathlib.Path(top)
    problems = []
    collector = top / "collector"
    for path in sorted(collector.rglob("*")):
        if path.suffix not in (".h", ".cc"):
            continue
        rel = path.relative_to(collector)
        if len(rel.parts) == 1:
            continue  # main.cc: wires everything
        part = rel.parts[0]
        allowed = ALLOWED.get(part)
        if allowed is None:
            problems.append("%s: folder '%s' has no entry in the layer table" % (path.relative_to(top), part))
            continue
        text = path.read_text(errors="replace")
        for m in INCLUDE.finditer(text):
            target = m.group(1)
            line = text[: m.start()].count("\n") + 1
            if target != part and target not in allowed:
                problems.append("%s:%d: %s/ may not include %s/ (allowed: %s)" %
                                (path.relative_to(top), line, part, target, ", ".join(sorted(allowed)) or "none"))
            elif (part, target) in ONLY and m.group(2) not in ONLY[(part, target)]:
                problems.append("%s:%d: %s/ may include only %s of %s/, not %s" %
                                (path.relative_to(top), line, part, ", ".join(sorted(ONLY[(part, target)])), target,
                                 m.group(2)))
    for path in sorted((top / "sensor").rglob("*")):
        if path.suffix in (".h", ".cc") and '#include "collector/' in path.read_text(errors="replace"):
            problems.append("%s: the sensor may not include collector code" % path.relative_to(top))
    return problems


def self_test(top):
    with tempfile.TemporaryDirectory() as tmp:
        copy = pathlib.Path(tmp)
        for d in ("collector", "sensor"):
            shutil.copytree(pathlib.Path(top) / d, copy / d, ignore=shutil.ignore_patterns("node_modules", "dist"))
        if check(copy):
            print("self-test: the tree already has problems")
            return 1
        victim = copy / "collector" / "decode" / "radio_header.h"
        victim.write_text(victim.read_text() + '\n#include "collector/api/device_json.h"\n')
        found = check(copy)
        if not any("decode/ may not include api/" in p for p in found):
            print("self-test: a planted include of api/ in decode/ was not caught")
            return 1
        print("self-test: the planted include was caught:", found[0])
        return 0


def main():
    args = sys.argv[1:]
    top = pathlib.Path(__file__).resolve().parents[2]
    if args and args[0] == "--self-test":
        return self_test(args[1] if len(args) > 1 else top)
    problems = check(args[0] if args else top)
    for p in problems:
        print(p)
    if problems:
        print("%d include(s) point the wrong way" % len(problems))
        return 1
    print("include layers: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
