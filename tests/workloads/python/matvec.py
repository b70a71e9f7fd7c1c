# matvec.py STEPS DELAY: numpy - repeated matrix-vector products (OpenBLAS
# runs them; with 2 CPUs it starts a second thread). Deterministic output:
# the hash covers every bit of every vector.
import hashlib
import sys
import time

import numpy as np

steps, delay = int(sys.argv[1]), float(sys.argv[2])
n = 400
a = np.sin(np.arange(n * n, dtype=np.float64).reshape(n, n) * 0.001)
v = np.cos(np.arange(n, dtype=np.float64) * 0.01)
h = hashlib.sha256()
for i in range(steps):
    v = a @ v
    v /= np.linalg.norm(v)
    h.update(v.tobytes())
    print(f"step {i} v0={v[0]:.9f} h={h.hexdigest()[:16]}", flush=True)
    time.sleep(delay)
print("done", h.hexdigest(), flush=True)
