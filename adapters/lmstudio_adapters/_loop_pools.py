"""One ``httpx.AsyncClient`` per running event loop, released when that loop closes.

httpx async connections belong to the loop that opened them, so an async client keeps a
pool per loop. Each pool is closed by an async generator that ``asyncio.run()`` (and
``asyncio.Runner``) finalise before closing the loop; that generator also drops the loop's
entry, so a script calling ``asyncio.run`` a thousand times keeps no dead loop or pool alive.
Loops closed without that shutdown step (``loop.close()`` by hand) are dropped the next time
a pool is created.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable

import httpx

__all__ = ["LoopPools"]


class _LoopEntry:
    __slots__ = ("keeper", "lock", "pool")

    def __init__(self, pool: httpx.AsyncClient) -> None:
        self.pool = pool
        self.keeper: AsyncGenerator[None, None] | None = None
        self.lock: asyncio.Lock | None = None


async def _close_with_loop(pool: httpx.AsyncClient, forget: Callable[[], None]) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        forget()
        await pool.aclose()


class LoopPools:
    """The pools of one async client, keyed by event loop.

    Entries hold their loop strongly (the keeper generator refers to it), which is why they
    are removed explicitly: when the loop shuts down, or once it is found closed.
    """

    __slots__ = ("_entries", "_factory")

    def __init__(self, factory: Callable[[], httpx.AsyncClient]) -> None:
        self._factory = factory
        self._entries: dict[asyncio.AbstractEventLoop, _LoopEntry] = {}

    def __len__(self) -> int:
        return len(self._entries)

    async def pool(self) -> httpx.AsyncClient:
        """The running loop's pool, created on first use."""
        loop = asyncio.get_running_loop()
        entry = self._entries.get(loop)
        if entry is not None:
            return entry.pool
        return await self._new_pool(loop)

    async def _new_pool(self, loop: asyncio.AbstractEventLoop) -> httpx.AsyncClient:
        self._forget_closed_loops()
        entry = _LoopEntry(self._factory())
        self._entries[loop] = entry
        keeper = _close_with_loop(entry.pool, lambda: self._forget(loop, entry))
        await keeper.__anext__()
        entry.keeper = keeper
        return entry.pool

    async def lock(self) -> asyncio.Lock:
        """A lock of the running loop (for one-time work such as API detection)."""
        loop = asyncio.get_running_loop()
        entry = self._entries.get(loop)
        if entry is None:
            await self._new_pool(loop)
            entry = self._entries[loop]
        if entry.lock is None:
            entry.lock = asyncio.Lock()
        return entry.lock

    async def close_running(self) -> None:
        """Close the running loop's pool and forget every other loop's (they cannot be awaited here)."""
        loop = asyncio.get_running_loop()
        entry = self._entries.pop(loop, None)
        self._entries.clear()
        if entry is None:
            return
        if entry.keeper is not None:
            await entry.keeper.aclose()
        else:
            await entry.pool.aclose()

    def _forget(self, loop: asyncio.AbstractEventLoop, entry: _LoopEntry) -> None:
        if self._entries.get(loop) is entry:
            del self._entries[loop]

    def _forget_closed_loops(self) -> None:
        for loop in [loop for loop in self._entries if loop.is_closed()]:
            del self._entries[loop]
