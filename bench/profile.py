"""--profile DIR: sample the spawned server with py-spy while a scenario runs, and summarise where it spends time.

py-spy is not a chatd dependency: `pip install py-spy` (it needs permission to
ptrace the server, which a process started by the same user normally has).
For each server the benchmark starts, DIR gets `<name>.pyspy.txt` (collapsed
stacks: one line per stack and its sample count, the input of flame-graph
tools) and `<name>.top.txt`: the busiest functions by own time and by
inclusive time, per thread. Idle threads are not sampled (--nonblocking,
without --idle), so the shares are of the time the server's threads were running.
"""

from __future__ import annotations

import collections
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

_FRAME = re.compile(r"^(?P<fn>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")
# Innermost frames of a thread that waits for work rather than runs.
IDLE = (
    "EpollIOManager.get_events (_io_epoll.py)",  # trio's loop waiting in epoll
    "WorkerThread._work (_thread_cache.py)",  # a trio worker thread waiting for a job
    "Writer._thread_main (writer.py)",  # the writer's own thread waiting on its queue
)


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds (utime + stime) per thread name of a process; trio's worker threads are summed."""
    out: dict[str, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return out
    for task in tasks:
        try:
            raw = (task / "stat").read_text()
        except OSError:
            continue
        name = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()
        key = "main thread" if task.name == str(pid) else "worker threads"
        out[key] = out.get(key, 0.0) + (int(fields[11]) + int(fields[12])) / tick
        del name
    return out


def py_spy() -> str | None:
    local = Path(sys.executable).with_name("py-spy")
    return str(local) if local.exists() else shutil.which("py-spy")


class Profiler:
    def __init__(self, pid: int, out_dir: Path, name: str, rate: int = 200):
        self.path = out_dir / f"{name}.pyspy.txt"
        self.top_path = out_dir / f"{name}.top.txt"
        self.proc: subprocess.Popen[bytes] | None = None
        self.pid = pid
        self.cpu0 = thread_cpu(pid)
        exe = py_spy()
        if exe is None:
            print("--profile needs py-spy: pip install py-spy")
            return
        out_dir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [exe, "record", "--pid", str(pid), "--rate", str(rate), "--format", "raw", "--threads", "--nonblocking", "-o", str(self.path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        proc = self.proc
        if proc is None:
            return
        self.proc = None
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        cpu1 = thread_cpu(self.pid)
        cpu = {k: round(v - self.cpu0.get(k, 0.0), 2) for k, v in cpu1.items()}
        if self.path.exists():
            head = "CPU seconds while sampled: " + ", ".join(f"{k} {v}" for k, v in sorted(cpu.items())) + "\n"
            self.top_path.write_text(head + summarize(self.path))


def _short(frame: str) -> str:
    m = _FRAME.match(frame)
    if not m:
        return frame
    return f"{m.group('fn')} ({m.group('file').rsplit('/', 1)[-1]})"


def summarize(path: Path, top: int = 40) -> str:
    own: collections.Counter[str] = collections.Counter()
    incl: collections.Counter[str] = collections.Counter()
    threads: collections.Counter[str] = collections.Counter()
    total = idle = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        names = [_short(f) for f in frames[1:]]
        if names and names[-1] in IDLE:
            idle += n
            continue
        total += n
        threads[frames[0]] += n
        if names:
            own[names[-1]] += n
        for name in set(names):
            incl[name] += n
    if not total:
        return "no samples\n"
    out = [f"{total} samples of running threads ({idle} samples of threads waiting for work left out)", "", "by thread:"]
    out += [f"{n * 100 / total:6.1f}%  {t}" for t, n in threads.most_common()]
    out += ["", "own time (the function itself, with the C code it calls):"]
    out += [f"{n * 100 / total:6.1f}%  {f}" for f, n in own.most_common(top)]
    out += ["", "inclusive time (the function and everything it calls):"]
    out += [f"{n * 100 / total:6.1f}%  {f}" for f, n in incl.most_common(top)]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(summarize(Path(sys.argv[1])), end="")
