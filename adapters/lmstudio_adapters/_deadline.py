"""Whole-call deadlines on top of httpx, which by itself only limits each socket operation.

A :class:`Deadline` is the time a call has left. While a call reads or writes, the
deadline is the value of :data:`current`; the network backend wrapped around httpcore's
(:func:`deadline_transport`, :func:`async_deadline_transport`) shrinks every socket read
and write to the time left, and fails it once none is left. That bounds what httpcore
loops over by itself (trickled headers, a flood of ``100 Continue``) as well as a body that
trickles, the same way for sync and async code. The stream loops also check the deadline
between reads, which covers an ``httpx`` client given by the user (its backend is not ours).
"""

from __future__ import annotations

import ssl
import typing
from contextvars import ContextVar
from time import monotonic

import httpcore
import httpx

__all__ = ["Deadline", "async_deadline_transport", "current", "deadline_transport"]


class Deadline:
    """``limit`` seconds from now; :meth:`restart` gives the full limit again (stream progress)."""

    __slots__ = ("at", "limit", "started")

    def __init__(self, limit: float) -> None:
        self.limit = limit
        self.at = monotonic() + limit
        # Restarted at the call's first socket operation: time spent waiting for a pooled
        # connection is bounded by the pool timeout, not by the call's own limit.
        self.started = False

    def restart(self) -> None:
        """Start the limit again from now."""
        self.at = monotonic() + self.limit

    def left(self) -> float:
        """Seconds left (negative once passed)."""
        return self.at - monotonic()

    def expired(self) -> bool:
        """Whether the deadline has passed."""
        return monotonic() >= self.at


#: The deadline of the call doing I/O in this thread or task (None: only httpx's own limits).
current: ContextVar[Deadline | None] = ContextVar("lmstudio_adapters_deadline", default=None)


def _bounded(timeout: float | None, exc: type[Exception]) -> float | None:
    deadline = current.get()
    if deadline is None:
        return timeout
    if not deadline.started:
        deadline.started = True
        deadline.restart()
    left = deadline.at - monotonic()
    if left <= 0:
        raise exc("the call's deadline passed")
    return left if timeout is None or left < timeout else timeout


class _Stream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        return _Stream(self._stream.start_tls(ssl_context, server_hostname, _bounded(timeout, httpcore.ConnectTimeout)))

    def get_extra_info(self, info: str) -> typing.Any:
        return self._stream.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    def __init__(self, backend: httpcore.NetworkBackend) -> None:
        self._backend = backend

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        timeout = _bounded(timeout, httpcore.ConnectTimeout)
        return _Stream(self._backend.connect_tcp(host, port, timeout, local_address, socket_options))

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        timeout = _bounded(timeout, httpcore.ConnectTimeout)
        return _Stream(self._backend.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class _AsyncStream(httpcore.AsyncNetworkStream):
    def __init__(self, stream: httpcore.AsyncNetworkStream) -> None:
        self._stream = stream

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._stream.read(max_bytes, _bounded(timeout, httpcore.ReadTimeout))

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._stream.write(buffer, _bounded(timeout, httpcore.WriteTimeout))

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.AsyncNetworkStream:
        timeout = _bounded(timeout, httpcore.ConnectTimeout)
        return _AsyncStream(await self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> typing.Any:
        return self._stream.get_extra_info(info)


class _AsyncBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, backend: httpcore.AsyncNetworkBackend) -> None:
        self._backend = backend

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        timeout = _bounded(timeout, httpcore.ConnectTimeout)
        return _AsyncStream(await self._backend.connect_tcp(host, port, timeout, local_address, socket_options))

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        timeout = _bounded(timeout, httpcore.ConnectTimeout)
        return _AsyncStream(await self._backend.connect_unix_socket(path, timeout, socket_options))

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


def deadline_transport(*, verify: ssl.SSLContext, limits: httpx.Limits) -> httpx.HTTPTransport:
    """An ``httpx`` transport whose socket operations honour :data:`current`."""
    transport = httpx.HTTPTransport(verify=verify, limits=limits)
    pool = transport._pool  # httpx exposes no network_backend argument; httpcore takes one
    if isinstance(pool, httpcore.ConnectionPool):
        pool._network_backend = _Backend(pool._network_backend)
    return transport


def async_deadline_transport(*, verify: ssl.SSLContext, limits: httpx.Limits) -> httpx.AsyncHTTPTransport:
    """The async form of :func:`deadline_transport`."""
    transport = httpx.AsyncHTTPTransport(verify=verify, limits=limits)
    pool = transport._pool
    if isinstance(pool, httpcore.AsyncConnectionPool):
        pool._network_backend = _AsyncBackend(pool._network_backend)
    return transport
