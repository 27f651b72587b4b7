#!/usr/bin/env python3
"""Writes the C++ table of the web UI's built files (collector/web/assets.h):
every file under DIST, as it is and gzip-compressed, with content type and
ETag. Run by the build after `vite build`; with --none, an empty table (the
collector built with -DHOPWIRE_WEB_UI=OFF).

  embed_assets.py DIST OUT.cc
  embed_assets.py --none OUT.cc
"""
import gzip
import hashlib
import pathlib
import sys

TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".woff2": "font/woff2",
}


def literal(data):
    # A raw byte string as C++ string-literal pieces, 76 bytes a line.
    out = []
    for i in range(0, len(data), 76):
        chunk = data[i:i + 76]
        out.append('"' + "".join("\\x%02x" % b for b in chunk) + '"')
    return "\n    ".join(out) if out else '""'


def main():
    args = sys.argv[1:]
    if len(args) != 2:
        sys.exit(__doc__)
    dist, out = args
    files = []
    if dist != "--none":
        root = pathlib.Path(dist)
        for p in sorted(root.rglob("*")):
            if not p.is_file():
                continue
            rel = "/" + p.relative_to(root).as_posix()
            ctype = TYPES.get(p.suffix)
            if ctype is None:
                sys.exit("embed_assets.py: no content type for %s" % rel)
            data = p.read_bytes()
            gz = gzip.compress(data, compresslevel=9, mtime=0)
            if len(gz) >= len(data):
                gz = b""
            etag = '"' + hashlib.sha256(data).hexdigest()[:20] + '"'
            immutable = rel.startswith("/assets/")
            files.append((rel, ctype, etag, immutable, data, gz))
        if not any(f[0] == "/index.html" for f in files):
            sys.exit("embed_assets.py: %s has no index.html (did vite build run?)" % dist)
    lines = ['// Written by collector/web/embed_assets.py at build time. Do not edit.',
             '#include "collector/web/assets.h"', '', '#include <algorithm>', '#include <iterator>', '',
             'namespace hopwire::collector::web {', '', 'namespace {', '']
    for i, (rel, ctype, etag, imm, data, gz) in enumerate(files):
        lines.append("constexpr char kFile%d[] =\n    %s;" % (i, literal(data)))
        lines.append("constexpr char kGzip%d[] =\n    %s;" % (i, literal(gz)))
    lines.append("")
    lines.append("// Sorted by path, for binary search.")
    lines.append("const asset kAssets[] = {")
    for i, (rel, ctype, etag, imm, data, gz) in enumerate(files):
        lines.append('    {"%s", "%s", R"(%s)", %s, {kFile%d, %d}, {kGzip%d, %d}},' %
                     (rel, ctype, etag, "true" if imm else "false", i, len(data), i, len(gz)))
    if not files:
        lines.append('    {"", "", "", false, {}, {}},')
    lines.append("};")
    lines.append("constexpr std::size_t kCount = %d;" % len(files))
    lines += ['', '}  // namespace', '',
              'const asset* find_asset(std::string_view path) {',
              '  const auto* end = kAssets + kCount;',
              '  const auto* it = std::lower_bound(kAssets, end, path, [](const asset& a, std::string_view p) { return a.path < p; });',
              '  return it != end && it->path == path ? it : nullptr;',
              '}', '',
              'bool ui_built() { return kCount > 0; }',
              'std::size_t asset_count() { return kCount; }', '',
              '}  // namespace hopwire::collector::web', '']
    pathlib.Path(out).write_text("\n".join(lines))


if __name__ == "__main__":
    main()
