"""Child processes that die with their parent and stop cleanly, in reverse start order."""

from __future__ import annotations

import ctypes
import functools
import itertools
import os
import random
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Ask Linux to SIGTERM this process when its parent dies (even by SIGKILL)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: children are still stopped on a clean exit
        pass


class StartupError(RuntimeError):
    """A dependency could not be started or reached; the message says what to do."""


@dataclass
class ManagedProcess:
    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path | None = None
    stop_timeout: float = 10.0  # seconds between SIGTERM and SIGKILL in `stop`

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout: float | None = None) -> None:
        """SIGTERM, then SIGKILL if it has not exited within ``timeout`` seconds (default ``stop_timeout``)."""
        if not self.alive():
            return
        self.popen.terminate()
        try:
            self.popen.wait(self.stop_timeout if timeout is None else timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()


@dataclass
class ProcessGroup:
    """Processes started together and stopped together, last started first."""

    processes: list[ManagedProcess] = field(default_factory=list)

    def spawn(
        self,
        name: str,
        argv: Sequence[str],
        *,
        log_path: Path | None = None,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        stop_timeout: float = 10.0,
        own_process_group: bool = False,
    ) -> ManagedProcess:
        """Start ``argv`` with output to ``log_path`` (or inherited when None); `stop` gives it ``stop_timeout`` s.

        ``own_process_group``: Ctrl+C in the terminal (SIGINT to its foreground process group) does not
        reach it; it stops when `stop` is called, or when this process dies.
        """
        output = open(log_path, "ab") if log_path else None  # noqa: SIM115 - owned by the child
        try:
            popen = subprocess.Popen(  # noqa: S603 - argv built by the project
                list(argv),
                stdout=output,
                stderr=subprocess.STDOUT if output else None,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=cwd,
                preexec_fn=die_with_parent,
                process_group=0 if own_process_group else None,
            )
        finally:
            if output:
                output.close()
        process = ManagedProcess(name, popen, log_path, stop_timeout)
        self.processes.append(process)
        return process

    def first_exited(self) -> ManagedProcess | None:
        return next((process for process in self.processes if not process.alive()), None)

    def stop_all(self) -> None:
        for process in reversed(self.processes):
            process.stop()


# Ports for the servers the tools start come from below Linux's ephemeral range (32768 and up by
# default), where the system never picks one for a client connection or a bind to port 0, and each
# pytest-xdist worker takes them from a block of its own, handing out each port once in turn. A port
# chosen here stays free until the server started on it binds it a moment later: the connections and
# servers of the tests running beside it cannot take it meanwhile.
PORT_BLOCKS_FROM = 20_000
PORT_BLOCK_SIZE = 1_000
WORKER_PORT_BLOCKS = 8  # xdist workers gw0-gw7 (more wrap around); other processes share 4 more by pid
OTHER_PORT_BLOCKS = 4


@functools.cache
def _ports() -> Iterator[int]:
    """This process's ports in turn, from a random start in its block."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if worker.startswith("gw") and worker[2:].isdigit():
        block = int(worker[2:]) % WORKER_PORT_BLOCKS
    else:
        block = WORKER_PORT_BLOCKS + os.getpid() % OTHER_PORT_BLOCKS
    first = PORT_BLOCKS_FROM + block * PORT_BLOCK_SIZE
    start = random.randrange(PORT_BLOCK_SIZE)  # noqa: S311 - spreads processes sharing a block, not a secret
    return itertools.cycle([first + (start + offset) % PORT_BLOCK_SIZE for offset in range(PORT_BLOCK_SIZE)])


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing is bound to, and that this process has not handed out lately."""
    for port in itertools.islice(_ports(), PORT_BLOCK_SIZE):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    last = PORT_BLOCKS_FROM + PORT_BLOCK_SIZE * (WORKER_PORT_BLOCKS + OTHER_PORT_BLOCKS) - 1
    raise StartupError(f"all {PORT_BLOCK_SIZE} TCP ports of this process's block ({PORT_BLOCKS_FROM}-{last}) are taken")


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


TCP_ESTABLISHED, TCP_LISTEN = "01", "0A"  # the state column of /proc/net/tcp


def tcp_sockets(port: int, state: str, *, ipv6: bool = True) -> dict[str, int]:
    """Inode -> remote port of each TCP socket in ``state`` on local ``port``, from /proc/net/tcp (and tcp6)."""
    found = {}
    for table in [Path("/proc/net/tcp"), *([Path("/proc/net/tcp6")] if ipv6 else [])]:
        for line in table.read_text().splitlines()[1:] if table.exists() else []:
            fields = line.split()  # sl, local address, remote address, state, ..., inode (the tenth)
            if fields[3] == state and int(fields[1].rpartition(":")[2], 16) == port:
                found[fields[9]] = int(fields[2].rpartition(":")[2], 16)
    return found


def socket_inodes(pid: int) -> set[str]:
    """The inodes of the sockets process ``pid`` holds open (none once it has gone)."""
    inodes = set()
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:  # closed meanwhile
                continue
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    except FileNotFoundError:  # the process has gone
        pass
    return inodes


def listens(pid: int, port: int) -> bool | None:
    """Whether process ``pid`` holds a socket listening on TCP ``port``; None where /proc cannot tell (not Linux)."""
    if not Path("/proc/net/tcp").exists():
        return None
    return bool(tcp_sockets(port, TCP_LISTEN).keys() & socket_inodes(pid))


def wait_for_port(process: ManagedProcess, port: int, *, timeout: float = 30.0) -> None:
    """Return once ``process`` listens on ``port``; fail early if it died, or if another program listens there."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process.alive():
            raise StartupError(
                f"{process.name} exited with code {process.popen.returncode} before listening on "
                f"port {port}.\n{process.log_tail()}"
            )
        if port_in_use(port):
            if listens(process.pid, port) is False:
                raise StartupError(
                    f"Port {port} answers, but not from {process.name}: another program took it first.\n"
                    f"{process.log_tail()}"
                )
            return
        time.sleep(0.05)
    raise StartupError(f"{process.name} did not listen on port {port} within {timeout:.0f} s.\n{process.log_tail()}")


def which(program: str) -> str | None:
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        candidate = Path(directory) / program
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None
