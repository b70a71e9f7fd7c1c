#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""check-agent-test-hooks.py NM AGENT on|off - whether an agent binary has
the test hooks (guest/test-hooks/) exactly when the build says it should.

The agent is static and keeps its symbol table, so nm lists every function
linked in. Off (the default, production build): none of the hooks' entry
points, and not even libc's ptrace - nothing in that agent can ptrace a
process. On (-Dtest_hooks=true): all of them, so this check cannot pass
by looking at the wrong binary.
"""
import subprocess
import sys

HOOK_SYMBOLS = ["test_hooks_serve", "test_hooks_child_stopped", "oracle_reply",
                "oracle_arch", "mempattern_reply", "ptrace"]


def main():
    if len(sys.argv) != 4 or sys.argv[3] not in ("on", "off"):
        sys.exit("usage: check-agent-test-hooks.py NM AGENT on|off")
    nm, agent, want = sys.argv[1:]
    out = subprocess.run([nm, "--defined-only", "--format=posix", agent], check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    defined = {line.split()[0] for line in out.splitlines() if line.strip()}
    have = [s for s in HOOK_SYMBOLS if s in defined]
    missing = [s for s in HOOK_SYMBOLS if s not in defined]
    print("%s: %s" % (agent, ", ".join(have) if have else "none of " + ", ".join(HOOK_SYMBOLS)))
    if want == "off" and have:
        print("FAIL: an agent built without test hooks has %s" % ", ".join(have))
        return 1
    if want == "on" and missing:
        print("FAIL: an agent built with -Dtest_hooks=true lacks %s" % ", ".join(missing))
        return 1
    print("ok: test hooks %s, as configured" % want)
    return 0


if __name__ == "__main__":
    sys.exit(main())
