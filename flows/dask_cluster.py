"""The articles stage on a Dask cluster, for runs spread over several machines (optional: newsdesk[dask]).

Only the CPU stage goes to the cluster (extract, clean, sign, tag: flows.articles.build_chunk). Polling,
fetching and loading stay in the ingest process, beside the warehouse file that only it can write: this is
why the cluster is an executor of that stage and not the flow's task runner (prefect-dask's DaskTaskRunner
would send the fetch and load tasks away from the file too, and adds ~85 ms per task). Workers need newsdesk
installed; the taxonomy goes to them with the run, so its file need not exist on their machines.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from typing import Any

log = logging.getLogger(__name__)
SCHEDULER_ADDRESS = re.compile(r"(?:(?:tcp|tls|inproc|ws|wss)://)?[\w.\-\[\]:]+:\d{1,5}")
CONNECT_TIMEOUT_S = 10.0

_lock = threading.Lock()
_clients: dict[str, Any] = {}  # scheduler address -> distributed.Client, kept for the process
_shared: dict[tuple[str, str], Any] = {}  # (address, name) -> the future of a value sent to every worker


class ClusterUnavailable(RuntimeError):
    """The Dask scheduler cannot be reached, or the `distributed` package is not installed."""


def is_scheduler_address(value: str) -> bool:
    """Whether `value` reads as a Dask scheduler address (tcp://host:port, or host:port)."""
    return bool(SCHEDULER_ADDRESS.fullmatch(value.strip()))


def get_cluster_client(address: str, timeout_s: float | None = None) -> Any:
    """The process's client of the scheduler at `address`, connected on first use (waiting at most
    `timeout_s`, default CONNECT_TIMEOUT_S)."""
    with _lock:
        client = _clients.get(address)
        if client is not None and client.status == "running":
            return client
        try:
            from distributed import Client
        except ImportError as error:
            raise ClusterUnavailable(
                "a Dask scheduler is configured but the `distributed` package is missing: "
                "install newsdesk[dask]"
            ) from error
        try:
            client = Client(address, timeout=timeout_s or CONNECT_TIMEOUT_S, set_as_default=False)
        except (OSError, TimeoutError) as error:
            raise ClusterUnavailable(f"no Dask scheduler answers at {address}: {error}") from error
        _clients[address] = client
        return client


def get_cluster_executor(address: str, timeout_s: float | None = None) -> Executor:
    """A concurrent.futures executor whose calls run on the Dask cluster at `address`."""
    return get_cluster_client(address, timeout_s).get_executor(pure=False)


def share_with_cluster(address: str, name: str, value: Any) -> Any:
    """Send `value` to every worker once per connection, under `name`; the returned future stands for it
    in later calls."""
    with _lock:
        shared = _shared.get((address, name))
    if shared is None:
        shared = get_cluster_client(address).scatter(value, broadcast=True, hash=False)
        with _lock:
            _shared[(address, name)] = shared
    return shared


def run_on_cluster(
    address: str, function: Callable[..., Any], chunks: Sequence[Any], *args: Any
) -> list[tuple[Any, BaseException | None]]:
    """function(chunk, *args) for every chunk on the cluster, as (result, None) or (None, error) in chunk
    order: a chunk whose worker died or whose call failed is the caller's to redo, not the run's end."""
    executor = get_cluster_executor(address)
    futures = [executor.submit(function, chunk, *args) for chunk in chunks]
    results: list[tuple[Any, BaseException | None]] = []
    for future in futures:
        try:
            results.append((future.result(), None))
        except Exception as error:
            results.append((None, error))
    return results


def close_cluster_clients() -> None:
    """Disconnect from every scheduler this process connected to (the cluster itself keeps running)."""
    with _lock:
        clients = list(_clients.values())
        _clients.clear()
        _shared.clear()
    for client in clients:
        try:
            client.close()
        except Exception as error:  # a scheduler gone already: nothing left to close
            log.debug("closing a Dask client: %s", error)
