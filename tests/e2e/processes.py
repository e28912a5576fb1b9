"""Which of the launcher's app processes holds a connection, read from /proc.

uvicorn's app processes share one listening socket and the kernel hands each new connection to
one of them, so a test that needs "a socket on one process and a request through the other"
opens connections and asks the kernel which process accepted each.
"""

from __future__ import annotations

import time

import httpx

from devstack.app_processes import connection_holder


def holder(pids: set[int], *, server_port: int, client_port: int) -> int:
    """The process among ``pids`` that accepted the connection from ``client_port``."""
    try:
        return connection_holder(pids, server_port=server_port, client_port=client_port)
    except LookupError as error:
        raise AssertionError(str(error)) from None


def client_port(response: httpx.Response) -> int:
    """The local port of the kept-alive connection that carried ``response``."""
    return response.extensions["network_stream"].get_extra_info("client_addr")[1]


class PinnedClient:
    """An HTTP client on one kept-alive connection, with the app process that holds it.

    uvicorn closes an idle connection after 5 s, so `check` renews the connection's stay on the
    same process just before a request that must go there, and fails if it moved.
    """

    def __init__(self, base_url: str, pids: set[int], server_port: int) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=15, trust_env=False,
                                 limits=httpx.Limits(max_connections=1, max_keepalive_connections=1))  # fmt: skip
        self.pids, self.server_port = pids, server_port
        self.pid = self._served_by(self.http.get("/livez"))

    def _served_by(self, response: httpx.Response) -> int:
        return holder(self.pids, server_port=self.server_port, client_port=client_port(response))

    def check(self) -> None:
        """Touch the connection and assert it is still held by this client's process."""
        assert self._served_by(self.http.get("/livez")) == self.pid, "the kept-alive connection moved"

    def request(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        """``method path`` through this client's process (asserted after the answer)."""
        self.check()
        response = self.http.request(method, path, **kwargs)  # type: ignore[arg-type]
        assert self._served_by(response) == self.pid, "the request went to another process"
        return response

    def close(self) -> None:
        self.http.close()


def one_client_per_process(base_url: str, pids: set[int], server_port: int, *, tries: int = 60) -> list[PinnedClient]:
    """One `PinnedClient` on each of ``pids``: connections are opened until every process holds one."""
    found: dict[int, PinnedClient] = {}
    spare: list[PinnedClient] = []
    for _ in range(tries):
        client = PinnedClient(base_url, pids, server_port)
        if client.pid in found:
            spare.append(client)
        else:
            found[client.pid] = client
        if len(found) == len(pids):
            break
        time.sleep(0.05)
    for client in spare:
        client.close()
    assert len(found) == len(pids), f"{tries} connections reached only the processes {sorted(found)}"
    return [found[pid] for pid in sorted(found)]
