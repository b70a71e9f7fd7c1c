# floats.py STEPS DELAY: pure Python - floating point, hashing and sleeps.
# Deterministic output, one line a step, then "done <sha256>"; exits 7 so
# that a restored run's exit status is checked too.
import hashlib
import math
import sys
import time

steps, delay = int(sys.argv[1]), float(sys.argv[2])
h = hashlib.sha256()
x = 0.0
for i in range(steps):
    for k in range(2000):
        x += math.sin(i * 0.001 + k) * math.sqrt(k + 1.0)
    h.update(repr(x).encode())
    print(f"step {i} x={x:.6f} h={h.hexdigest()[:16]}", flush=True)
    time.sleep(delay)
print("done", h.hexdigest(), flush=True)
sys.exit(7)
