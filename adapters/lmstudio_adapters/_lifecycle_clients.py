"""The lifecycle methods of ``LMStudioClient`` and ``AsyncLMStudioClient``: they only run the plans.

Everything they decide (routes, bodies, replies, when to poll) lives in ``_lifecycle``; the
clients' ``_run`` does the I/O each step asks for.
"""

from __future__ import annotations

from typing import Any, TypeVar

from lmstudio_adapters._attempts import AttemptsCore, Steps
from lmstudio_adapters._lifecycle import ProgressCallback
from lmstudio_adapters._lifecycle_wire import DownloadProgress, LoadedModel

__all__ = ["AsyncLifecycleMethods", "SyncLifecycleMethods"]

T = TypeVar("T")

DEFAULT_POLL_INTERVAL = 1.0


class SyncLifecycleMethods(AttemptsCore):
    """Model lifecycle for the sync client."""

    def _run(self, plan: Steps[T]) -> T:  # pragma: no cover - the client's
        raise NotImplementedError

    def list_loaded_models(self) -> list[LoadedModel]:
        """The model instances in memory now, with their instance ids and context lengths.

        Works on LM Studio 0.3.6+ and llama.cpp's router; the route is found once per client.

        Raises:
            FeatureNotSupportedError: the server does not say what is loaded (LM Studio 0.2.x).
        """
        return self._run(self._list_loaded_plan())

    def load_model(self, model: str, *, context_length: int | None = None, **config: Any) -> LoadedModel:
        """Load ``model`` and return the loaded instance once it is in memory.

        Waits up to ``LM_STUDIO_LOAD_TIMEOUT`` (milliseconds, default 600000: big models take
        minutes). ``config`` takes LM Studio's other load options: ``eval_batch_size``,
        ``flash_attention``, ``num_experts``, ``offload_kv_cache_to_gpu``, ``echo_load_config``.

        Raises:
            FeatureNotSupportedError: the server has no load route (LM Studio before 0.4.0).
            ModelNotLoadedError: the server could not load it (its message says why).
            APITimeoutError: loading took longer than ``LM_STUDIO_LOAD_TIMEOUT``.
        """
        return self._run(self._load_plan(model, context_length, config))  # type: ignore[no-any-return]

    def unload_model(self, instance_id: str) -> None:
        """Unload a model instance (an ``instance_id`` from :meth:`list_loaded_models`).

        Raises:
            FeatureNotSupportedError: the server has no unload route (LM Studio before 0.4.0).
        """
        self._run(self._unload_plan(instance_id))

    def ensure_loaded(self, model: str | None = None, **config: Any) -> LoadedModel:
        """Make sure ``model`` (default: the client's) is in memory; return its instance.

        One listing request when it is loaded already. Otherwise it is loaded (as by
        :meth:`load_model`), or, on LM Studio before 0.4, loaded just in time by the smallest
        request (a 1-token chat, or a 1-word embedding), within ``LM_STUDIO_LOAD_TIMEOUT``.
        """
        return self._run(self._ensure_plan(model or self.model, config))  # type: ignore[no-any-return]

    def download_model(
        self,
        model: str,
        *,
        quantization: str | None = None,
        on_progress: ProgressCallback | None = None,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
    ) -> DownloadProgress:
        """Download ``model`` (a catalog id or a Hugging Face URL) and wait until it is on disk.

        ``on_progress`` is called with each :class:`DownloadProgress` (bytes done, total,
        rate), once per ``poll_interval`` seconds; an "already downloaded" model returns at
        once. Needs LM Studio 0.4+.

        Raises:
            DownloadError: the download failed, or made no progress for ``LM_STUDIO_LOAD_TIMEOUT``.
            FeatureNotSupportedError: the server cannot download (before LM Studio 0.4.0).
        """
        plan = self._download_plan(model, quantization, on_progress, poll_interval)
        return self._run(plan)  # type: ignore[no-any-return]


class AsyncLifecycleMethods(AttemptsCore):
    """Model lifecycle for the async client: the methods of the sync one, awaited."""

    async def _run(self, plan: Steps[T]) -> T:  # pragma: no cover - the client's
        raise NotImplementedError

    async def list_loaded_models(self) -> list[LoadedModel]:
        """See :meth:`LMStudioClient.list_loaded_models`."""
        return await self._run(self._list_loaded_plan())

    async def load_model(self, model: str, *, context_length: int | None = None, **config: Any) -> LoadedModel:
        """See :meth:`LMStudioClient.load_model`."""
        return await self._run(self._load_plan(model, context_length, config))

    async def unload_model(self, instance_id: str) -> None:
        """See :meth:`LMStudioClient.unload_model`."""
        await self._run(self._unload_plan(instance_id))

    async def ensure_loaded(self, model: str | None = None, **config: Any) -> LoadedModel:
        """See :meth:`LMStudioClient.ensure_loaded`."""
        return await self._run(self._ensure_plan(model or self.model, config))

    async def download_model(
        self,
        model: str,
        *,
        quantization: str | None = None,
        on_progress: ProgressCallback | None = None,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
    ) -> DownloadProgress:
        """See :meth:`LMStudioClient.download_model`; ``on_progress`` is a plain (fast) function."""
        plan = self._download_plan(model, quantization, on_progress, poll_interval)
        return await self._run(plan)
