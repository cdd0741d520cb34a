"""Python threads under exec: three threads append to a shared list under a lock, sleeping
between rounds; the order is the schedule's (the seed's, in deterministic mode). Prints the
order and a draw of Python's random module (seeded by Python from getrandom: the world's)."""
import random
import threading
import time
lock = threading.Lock()
order = []
def w(i):
    for k in range(20):
        with lock:
            order.append(i)
        time.sleep(0.0001 * (k % 3))
ts = [threading.Thread(target=w, args=(i,)) for i in range(3)]
[t.start() for t in ts]
[t.join() for t in ts]
print("".join(map(str, order)), random.random())
print("count", len(order))
