"""Commander's own mysql rotation plugin, timed the way benches/latency.rs
times keeper: for each account on stdin (`user<TAB>password` lines),
`Rotator(...).rotate(record, new)` through the relay on 127.0.0.1:<port>,
then a fresh pymysql login with the new password and `SELECT 1` (Commander
itself never verifies). Prints the seconds the loop took (imports and
reading stdin excluded). Run by the benchmark with KEEPER_BENCH_COMMANDER.
"""
import sys
import time

import pymysql
from keepercommander.plugins.mysql.mysql import Rotator

port = int(sys.argv[1])
accounts = [line.rstrip("\n").split("\t") for line in sys.stdin if line.strip()]
started = time.perf_counter()
for i, (user, password) in enumerate(accounts):
    new = f"Commander-{i}-x"
    rotator = Rotator(host="127.0.0.1", login=user, password=password, port=port, user_host="%")
    if not rotator.rotate(None, new):
        sys.exit(f"Commander's plugin failed for {user}")
    conn = pymysql.connect(host="127.0.0.1", port=port, user=user, password=new)
    with conn.cursor() as cur:
        cur.execute("SELECT 1")
    conn.close()
print(f"{time.perf_counter() - started:.3f}")
