"""Where a test session's time went, from its BNVIZ_TIMELINE file (tests/conftest.py).

    BNVIZ_TIMELINE=/tmp/timeline.tsv python -m pytest -q
    python tests/timeline.py /tmp/timeline.tsv

Prints the wall time, each worker's busy time and when it ran out of work, and the time per
test file (summed over its tests' phases), largest first.
"""

import sys
from collections import defaultdict


def main(path: str, top: int = 25) -> None:
    with open(path) as lines:
        rows = [line.rstrip("\n").split("\t") for line in lines]
    rows = [(w, float(a), float(b), phase, nodeid) for w, a, b, phase, nodeid in rows]
    begin, end = min(r[1] for r in rows), max(r[2] for r in rows)
    print(f"wall {end - begin:.0f} s, {len(rows)} phases")
    busy, last = defaultdict(float), defaultdict(float)
    for w, a, b, *_ in rows:
        busy[w] += b - a
        last[w] = max(last[w], b)
    for w in sorted(busy):
        print(f"  {w}: busy {busy[w]:.0f} s, done at {last[w] - begin:.0f} s")
    files = defaultdict(float)
    for _, a, b, _, nodeid in rows:
        files[nodeid.split("::")[0]] += b - a
    total = sum(files.values())
    print(f"per file (of {total:.0f} s of worker time):")
    for name, spent in sorted(files.items(), key=lambda kv: -kv[1])[:top]:
        print(f"  {spent:7.1f} s  {spent / total:5.1%}  {name}")


if __name__ == "__main__":
    main(sys.argv[1])
