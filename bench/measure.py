#!/usr/bin/env python3
"""Runs a command and prints 'seconds peak_rss_kib' on stderr's last line (wait4 rusage).

   bench/measure.py CMD ARGS...   (the command's own output goes where it would)"""
import os
import subprocess
import sys
import time

start = time.monotonic()
proc = subprocess.Popen(sys.argv[1:])
_, status, usage = os.wait4(proc.pid, 0)
elapsed = time.monotonic() - start
code = os.waitstatus_to_exitcode(status)
# ru_maxrss of the waited child only; children of the child (pg_dump's) are not included.
print(f"MEASURE {elapsed:.3f} {usage.ru_maxrss}", file=sys.stderr)
sys.exit(code)
