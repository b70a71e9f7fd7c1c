#!/usr/bin/env python3
"""fetch-debian-deb.py - one .deb from a Debian suite apt is not configured
for (trixie on this bookworm machine), checked along the archive's own
chain of trust before anything uses it:

  InRelease    signed: gpgv against debian-archive-keyring
  Packages.xz  its sha256 listed in that InRelease
  the .deb     its sha256 listed in that Packages

usage: fetch-debian-deb.py --suite trixie --arch riscv64 --cache DIR
                           (--package NAME | --kernel FLAVOUR)

--kernel FLAVOUR takes the kernel the linux-image-FLAVOUR metapackage names
(its -unsigned twin where the archive has one); when the pool no longer
holds that version (seen: a 404 for the newest ppc64el image) it falls back
to the other linux-image-<abi>-FLAVOUR packages the index lists, newest
first. Prints "PATH VERSION SHA256" of the verified .deb. Cached under
DIR/debs (named by the pool's file name, which holds the version, and
checked against the index's sha256 every time) and DIR/debian-index
(Packages.xz named by its sha256). Exit status 1 with a message on any
failure: nothing unverified is ever printed.
"""
import argparse
import hashlib
import lzma
import os
import re
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request

MIRROR = os.environ.get('SNAPVM_DEBIAN_MIRROR', 'http://deb.debian.org/debian')
KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg'


def die(msg):
    sys.exit(f'fetch-debian-deb: error: {msg}')


def log(msg):
    print(f'fetch-debian-deb: {msg}', file=sys.stderr)


def get(url):
    """The body at url; None on 404 (the caller may fall back)."""
    for attempt in range(4):
        try:
            with urllib.request.urlopen(url, timeout=120) as r:
                return r.read()
        except urllib.error.HTTPError as e:
            if e.code == 404:
                return None
            err = e
        except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
            err = e
        log(f'{url}: {err} (try {attempt + 1})')
    die(f'cannot download {url}: {err}')


def write_atomic(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix='.dl-')
    with os.fdopen(fd, 'wb') as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, path)


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def verified_release(suite):
    """The signed text of the suite's InRelease, checked by gpgv."""
    data = get(f'{MIRROR}/dists/{suite}/InRelease')
    if data is None:
        die(f'the archive has no suite {suite}')
    with tempfile.TemporaryDirectory() as d:
        signed, out = os.path.join(d, 'InRelease'), os.path.join(d, 'Release')
        with open(signed, 'wb') as f:
            f.write(data)
        r = subprocess.run(['gpgv', '--keyring', KEYRING, '--output', out, signed],
                           capture_output=True, text=True)
        if r.returncode != 0:
            die(f'{suite}/InRelease: bad signature (apt-get install debian-archive-keyring '
                f'gpgv?):\n{r.stderr.strip()}')
        with open(out, encoding='utf-8') as f:
            return f.read()


def packages_index(release, suite, arch, cache):
    """Parsed Packages stanzas of main/binary-ARCH, checked against release."""
    name = f'main/binary-{arch}/Packages.xz'
    m = re.search(r'^SHA256:\n((?: .*\n)+)', release, re.M)
    want = None
    for line in (m.group(1).splitlines() if m else []):
        f = line.split()
        if len(f) == 3 and f[2] == name:
            want = f[0]
    if not want:
        die(f'{suite}/InRelease lists no sha256 for {name}')
    path = os.path.join(cache, 'debian-index', f'{suite}-{arch}-{want}.xz')
    data = open(path, 'rb').read() if os.path.exists(path) else None
    if data is None or sha256(data) != want:
        data = get(f'{MIRROR}/dists/{suite}/{name}')
        if data is None or sha256(data) != want:
            die(f'{suite}/{name}: sha256 does not match the signed InRelease')
        write_atomic(path, data)
    stanzas = {}
    for block in lzma.decompress(data).decode('utf-8', 'replace').split('\n\n'):
        fields = dict(re.findall(r'^([\w-]+): (.*)$', block, re.M))
        if 'Package' in fields:
            stanzas[fields['Package']] = fields
    return stanzas


def version_key(v):
    return [int(x) for x in re.findall(r'\d+', v)]


def kernel_candidates(index, flavour):
    """Kernel packages for flavour, the metapackage's choice first."""
    meta = index.get(f'linux-image-{flavour}')
    if not meta:
        die(f'the index has no linux-image-{flavour}')
    dep = re.match(r'\s*(linux-image-[^ ,]+)', meta.get('Depends', ''))
    first = dep.group(1) if dep else None
    pat = re.compile(r'^linux-image-\d[^ ]*-' + re.escape(flavour) + r'(-unsigned)?$')
    others = sorted((p for p in index if pat.match(p)),
                    key=lambda p: version_key(index[p]['Version']), reverse=True)
    names = ([first] if first else []) + [p for p in others if p != first]
    # the -unsigned twin holds the same files without the signing wrapper
    out = []
    for p in names:
        p = p if p.endswith('-unsigned') or p + '-unsigned' not in index else p + '-unsigned'
        if p not in out and p in index:
            out.append(p)
    return out


def fetch(stanza, cache):
    """The verified .deb of stanza, from the cache or the pool; None on 404."""
    want = stanza['SHA256']
    path = os.path.join(cache, 'debs', os.path.basename(stanza['Filename']))
    if os.path.exists(path) and sha256(open(path, 'rb').read()) == want:
        return path
    log(f"downloading {stanza['Package']} {stanza['Version']}")
    data = get(f"{MIRROR}/{stanza['Filename']}")
    if data is None:
        return None
    if sha256(data) != want:
        die(f"{stanza['Filename']}: sha256 does not match the signed index")
    write_atomic(path, data)
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--suite', required=True)
    ap.add_argument('--arch', required=True, help='Debian architecture (riscv64, ppc64el)')
    ap.add_argument('--cache', required=True)
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument('--package')
    g.add_argument('--kernel', metavar='FLAVOUR')
    a = ap.parse_args()
    index = packages_index(verified_release(a.suite), a.suite, a.arch, a.cache)
    names = kernel_candidates(index, a.kernel) if a.kernel else [a.package]
    for p in names:
        if p not in index:
            die(f'{a.suite}/{a.arch} has no package {p}')
        path = fetch(index[p], a.cache)
        if path:
            print(path, index[p]['Version'], index[p]['SHA256'])
            return
        log(f"{p} {index[p]['Version']}: not in the pool (404); trying the next listed version")
    die(f'none of {", ".join(names)} could be downloaded')


if __name__ == '__main__':
    main()
