"""Peak private memory (RssAnon) of the backend running one statement, above its idle size.

Samples /proc/<backend pid>/status every 10 ms while the statement runs; shared buffers are not
counted, only what the backend allocates for itself.

usage: peak_memory.py "SQL" [name]     prints <name>=<MB> (default backend_peak_memory_mb)
"""
import sys
import threading

import psycopg2


def rss_anon_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    return 0


def main():
    conn = psycopg2.connect("")
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("SELECT pg_backend_pid()")
    pid = cur.fetchone()[0]
    idle = rss_anon_kb(pid)
    peak = [idle]
    done = threading.Event()

    def sample():
        while not done.wait(0.01):
            peak[0] = max(peak[0], rss_anon_kb(pid))

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        cur.execute(sys.argv[1])
    finally:
        done.set()
        sampler.join()
    name = sys.argv[2] if len(sys.argv) > 2 else "backend_peak_memory_mb"
    print("%s=%.1f (above idle %.1f MB)" % (name, (peak[0] - idle) / 1024, idle / 1024))


if __name__ == "__main__":
    main()
