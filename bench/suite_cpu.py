"""Where a command's CPU time goes, by kind of process (the test suite: its own processes,
Chromium, the browser tests' Streamlit servers and their workers, the claims' process pools).

    python bench/suite_cpu.py -- python -m pytest -q

Samples /proc once a second while the command runs and sums, per process, the CPU time it used
since it was first seen (a process that lives under a second may be missed). It counts every
process on the machine: run it on an otherwise idle one. Linux only.
"""

import collections
import os
import subprocess
import sys
import time

CLK = os.sysconf("SC_CLK_TCK")


def kind(args: str) -> str:
    """A process's kind from its command line."""
    if "chrom" in args:
        return "chromium"
    if "streamlit" in args:
        return "streamlit server"
    if "execnet" in args or "sys.stdin.readline" in args or "pytest" in args:
        return "test process"
    if "spawn_main" in args or "multiprocessing" in args:
        return "spawned child"
    return "other"


def sample(seen: dict, first: bool) -> None:
    """Record every process's CPU seconds: {(pid, start): [at first sight, now, args, ppid]}."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{pid}/cmdline") as f:
                args = f.read().replace("\0", " ")
        except OSError:
            continue
        cpu = (int(fields[11]) + int(fields[12])) / CLK
        row = seen.setdefault((pid, fields[19]), [cpu if first else 0.0, cpu, args, fields[1]])
        row[1], row[2] = cpu, row[2] or args  # an exited process's command line reads empty


def main(cmd: list[str]) -> int:
    seen: dict = {}
    sample(seen, first=True)
    began = time.monotonic()
    proc = subprocess.Popen(cmd)
    while proc.poll() is None:
        time.sleep(1.0)
        sample(seen, first=False)
    wall = time.monotonic() - began
    args_of = {pid: args for (pid, _), (_, _, args, _) in seen.items()}
    spent: collections.Counter = collections.Counter()
    for (_, _), (base, now, args, ppid) in seen.items():
        name = kind(args)
        if name == "spawned child":  # a server's training worker, or a claims pool's
            name += " of a " + kind(args_of.get(ppid, ""))
        spent[name] += now - base
    total = sum(spent.values())
    print(f"wall {wall:.0f} s, CPU {total:.0f} s ({total / wall:.2f} cores busy on average)")
    for name, cpu in spent.most_common():
        print(f"  {cpu:8.1f} s  {cpu / total:6.1%}  {name}")
    return proc.returncode


if __name__ == "__main__":
    argv = sys.argv[1:]
    sys.exit(main(argv[1:] if argv[:1] == ["--"] else argv))
