"""bench/timed.py TIMES CMD [ARG...]: run CMD (stdout discarded), append
"<wall s> <CPU s>" to TIMES: the wall time, and the user + system time of
CMD and its children (from wait4; what the benchmark scripts report as a
client's CPU). Exits with a message when CMD fails."""
import os, sys, time, subprocess
out, cmd = sys.argv[1], sys.argv[2:]
t0 = time.monotonic()
p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
_, status, ru = os.wait4(p.pid, 0)
wall = time.monotonic() - t0
if status != 0:
    sys.exit("bench: %s failed (status %d)" % (" ".join(cmd), status))
with open(out, "a") as f:
    f.write("%.3f %.3f\n" % (wall, ru.ru_utime + ru.ru_stime))
