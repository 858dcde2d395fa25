"""Processes the suite starts: servers on loopback ports, load generators, and their memory.

Every child is registered in a pid file as it starts, so `bench/run`'s trap can stop what a
crashed suite left behind; `Fleet.stop_all` stops them in the normal way.
"""

import os
import signal
import socket
import subprocess
import time
from pathlib import Path


def free_port() -> int:
    """A loopback port nobody is listening on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port: int, proc: subprocess.Popen, timeout: float = 20.0) -> None:
    """Returns once something accepts on 127.0.0.1:port; raises if the process died first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def memory_kb(pid: int) -> dict:
    """VmRSS and VmHWM (peak RSS) of a process, in kB; empty when it is gone."""
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    out[key] = int(rest.split()[0])
    except OSError:
        pass
    return out


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far, all threads."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def descendants(pid: int) -> list[int]:
    """The live processes below `pid` (a server's worker processes), from /proc."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parents[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    found, frontier = [], [pid]
    while frontier:
        children = [c for c, p in parents.items() if p in frontier]
        found += children
        frontier = children
    return found


def tree_cpu(pid: int) -> dict[int, float]:
    """CPU seconds of a process and of each live process below it (a multi-process server's
    own), by pid."""
    return {p: cpu_seconds(p) for p in [pid, *descendants(pid)]}


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds a tree used between two `tree_cpu` readings: a process that came in between
    is counted whole; one that left is lost, never subtracted."""
    return sum(max(0.0, s - before.get(p, 0.0)) for p, s in after.items())


class Fleet:
    """The children of one suite run."""

    def __init__(self, pid_file: Path, log_dir: Path):
        self.pid_file = pid_file
        self.log_dir = log_dir
        self.procs: dict[str, subprocess.Popen] = {}
        self.groups: set[str] = set()  # children that lead a process group of their own
        self.pid_file.write_text("")

    def _record(self) -> None:
        live = [str(p.pid) for p in self.procs.values() if p.poll() is None]
        self.pid_file.write_text("\n".join(live) + "\n")

    def start(self, name: str, argv: list[str], env: dict | None = None,
              stdout=None, cwd: Path | None = None, group: bool = False) -> subprocess.Popen:
        """Starts a child, its stderr (and stdout unless given) into logs/NAME.log. With
        `group`, the child leads a process group of its own and is stopped with all of it
        (for servers that fork workers)."""
        self.stop(name)
        log = open(self.log_dir / f"{name}.log", "ab")
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=stdout if stdout is not None else log,
            stderr=log,
            env={**os.environ, **(env or {})},
            cwd=cwd,
            start_new_session=group,
        )
        log.close()
        self.procs[name] = proc
        if group:
            self.groups.add(name)
        self._record()
        return proc

    def run(self, name: str, argv: list[str], timeout: float, env: dict | None = None) -> str:
        """Runs a bounded child to its end and returns its stdout."""
        proc = self.start(name, argv, env=env, stdout=subprocess.PIPE)
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop(name)
            raise RuntimeError(f"{name} did not finish within {timeout:.0f} s")
        finally:
            self.procs.pop(name, None)
            self._record()
        if proc.returncode != 0:
            raise RuntimeError(f"{name} exited with {proc.returncode}; see logs/{name}.log")
        return out.decode()

    def stop(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        group = name in self.groups
        self.groups.discard(name)

        def signal_it(sig):
            try:
                if group:
                    os.killpg(proc.pid, sig)
                else:
                    proc.send_signal(sig)
            except ProcessLookupError:
                pass

        if proc.poll() is None:
            signal_it(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                signal_it(signal.SIGKILL)
                proc.wait(timeout=10)
        if group:
            # Workers its leader left behind, if any.
            signal_it(signal.SIGKILL)
        if proc.stdout:
            proc.stdout.close()
        self._record()

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.stop(name)
