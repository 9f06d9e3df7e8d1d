"""What the model-lifecycle routes look like on the wire, and how their replies are read.

Two servers can load and unload models over HTTP; LM Studio before 0.4 cannot.

**LM Studio 0.4.0+** (``/api/v1``, blocking calls):

* ``GET /api/v1/models`` answers ``{"models": [...]}``; each entry has its ``key``, ``type``
  (``llm`` or ``embedding``) and ``loaded_instances``, a list of ``{"id", "config":
  {"context_length", ...}}``. An instance id is the key, ``key:2`` for a second instance, or
  the name given to ``lms load --identifier``.
* ``POST /api/v1/models/load`` takes ``model`` plus optional ``context_length``,
  ``eval_batch_size``, ``flash_attention``, ``num_experts``, ``offload_kv_cache_to_gpu``,
  ``echo_load_config``; it answers only once the model is in memory, with
  ``{"type": "llm", "instance_id": ..., "load_time_seconds": 7.9, "status": "loaded"}``.
  A load that fails answers 400 with LM Studio's error body (``Failed to load model ...``).
* ``POST /api/v1/models/unload`` takes ``{"instance_id"}`` and echoes it back.
* ``POST /api/v1/models/download`` takes ``model`` (a catalog id or a Hugging Face URL) and
  optional ``quantization``; it answers a job (``job_id``, ``status``, ``total_size_bytes``,
  ``started_at``), or only ``{"status": "already_downloaded"}``.
  ``GET /api/v1/models/download/status/<job_id>`` repeats the job with ``downloaded_bytes``,
  ``bytes_per_second``, ``estimated_completion`` and ``completed_at``. A job's status is
  ``downloading``, ``paused``, ``completed``, ``failed`` or ``already_downloaded``.

**llama.cpp's router** (``llama-server --models-preset``; what the test server runs):

* ``GET /models`` (and ``/v1/models``) lists ``{"data": [{"id", "status": {"value":
  "loaded" | "loading" | "unloaded", "failed": true, "exit_code": 1}}]}``.
* ``POST /models/load`` and ``POST /models/unload`` take ``{"model": id}`` and answer
  ``{"success": true}`` at once; the change happens in the background, so the client polls
  the listing. Unloading a model that is not running answers 400 ``model is not running``.

**LM Studio 0.3.6 to 0.3.x** has ``GET /api/v0/models`` (``state``: ``loaded`` or
``not-loaded``, ``loaded_context_length``) but no load route: a model is loaded just in
time by the first request that names it. Unknown routes answer HTTP 200 with
``{"error": "Unexpected endpoint or method. (GET /api/v1/models)"}`` on every version.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

__all__ = [
    "LIST_ROUTES",
    "DownloadProgress",
    "LifecycleApi",
    "LoadedModel",
    "download_progress",
    "find_loaded",
    "listed_unloaded",
    "loaded_models",
    "router_status",
    "sniff_api",
]

#: ``lmstudio``: LM Studio 0.4+; ``router``: llama.cpp's router; ``v0``: LM Studio 0.3.6+
#: (listing only); ``none``: an OpenAI-compatible server with no lifecycle routes.
LifecycleApi = Literal["lmstudio", "router", "v0", "none"]

LIST_ROUTES: dict[LifecycleApi, str] = {
    "lmstudio": "/api/v1/models",
    "v0": "/api/v0/models",
    "router": "/models",
    "none": "/v1/models",
}

DownloadStatus = Literal["downloading", "paused", "completed", "failed", "already_downloaded"]
_STATUSES = frozenset(("downloading", "paused", "completed", "failed", "already_downloaded"))


class LoadedModel(BaseModel):
    """A model instance in the server's memory."""

    model_config = ConfigDict(frozen=True)

    instance_id: str
    """The id to send as ``model`` and to :meth:`~lmstudio_adapters.LMStudioClient.unload_model`."""
    model: str
    """The model key this is an instance of (the same as ``instance_id`` unless renamed)."""
    type: str | None = None
    """``llm``, ``vlm`` or ``embeddings`` where the server says."""
    context_length: int | None = None
    """The context length it was loaded with, where the server says."""
    load_time_seconds: float | None = None
    """How long loading took, when this instance was just loaded by LM Studio 0.4+."""
    status: Literal["loaded", "loading"] = "loaded"


class DownloadProgress(BaseModel):
    """The state of a model download, as the server last reported it."""

    model_config = ConfigDict(frozen=True)

    model: str
    status: DownloadStatus
    job_id: str | None = None
    downloaded_bytes: int | None = None
    total_size_bytes: int | None = None
    bytes_per_second: float | None = None
    """From the server, else measured between two polls."""
    estimated_completion: str | None = None
    started_at: str | None = None
    completed_at: str | None = None

    @property
    def finished(self) -> bool:
        """Whether the model is on disk (just downloaded, or already there)."""
        return self.status in ("completed", "already_downloaded")

    @property
    def fraction(self) -> float | None:
        """Share downloaded, 0 to 1, when the total is known."""
        if self.finished:
            return 1.0
        if self.downloaded_bytes is None or not self.total_size_bytes:
            return None
        return min(self.downloaded_bytes / self.total_size_bytes, 1.0)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def sniff_api(path: str, body: Any) -> LifecycleApi | None:
    """Which lifecycle API a listing body shows; None when ``path`` did not answer a listing."""
    if not isinstance(body, dict) or "error" in body:
        return None
    if path == LIST_ROUTES["lmstudio"]:
        return "lmstudio" if isinstance(body.get("models"), list) else None
    data = body.get("data")
    if not isinstance(data, list):
        return None
    if path == LIST_ROUTES["v0"]:
        return "v0" if all(isinstance(item, dict) and "state" in item for item in data) else None
    return "router" if any(isinstance(item, dict) and isinstance(item.get("status"), dict) for item in data) else "none"


_TYPES = {"llm": "llm", "vlm": "vlm", "embedding": "embeddings", "embeddings": "embeddings"}


def loaded_models(api: LifecycleApi, body: Any) -> list[LoadedModel]:
    """The instances in memory, from a listing body of the given API (``none`` lists nothing)."""
    found: list[LoadedModel] = []
    if not isinstance(body, dict):
        return found
    if api == "lmstudio":
        for item in body.get("models") or []:
            if not isinstance(item, dict) or not isinstance(item.get("key"), str):
                continue
            kind = _TYPES.get(str(item.get("type")))
            for instance in item.get("loaded_instances") or []:
                if isinstance(instance, dict) and isinstance(instance.get("id"), str):
                    config = instance.get("config")
                    config = config if isinstance(config, dict) else {}
                    found.append(
                        LoadedModel(
                            instance_id=instance["id"],
                            model=item["key"],
                            type=kind,
                            context_length=_int(config.get("context_length")),
                        )
                    )
        return found
    for item in body.get("data") or []:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            continue
        if api == "v0" and item.get("state") == "loaded":
            found.append(
                LoadedModel(
                    instance_id=item["id"],
                    model=item["id"],
                    type=_TYPES.get(str(item.get("type"))),
                    context_length=_int(item.get("loaded_context_length")),
                )
            )
        elif api == "router":
            value, _ = router_status(body, item["id"])
            if value in ("loaded", "loading"):
                meta = item.get("meta")
                meta = meta if isinstance(meta, dict) else {}
                found.append(
                    LoadedModel(
                        instance_id=item["id"],
                        model=item["id"],
                        context_length=_int(meta.get("n_ctx")),
                        status="loaded" if value == "loaded" else "loading",
                    )
                )
    return found


def find_loaded(api: LifecycleApi, body: Any, model: str) -> LoadedModel | None:
    """The loaded instance ``model`` names: an instance id, a model key, or (0.4) one of its variants."""
    loaded = [m for m in loaded_models(api, body) if m.status == "loaded"]
    for instance in loaded:
        if model in (instance.instance_id, instance.model):
            return instance
    if api == "lmstudio":
        for item in body.get("models") or []:
            variants = item.get("variants") if isinstance(item, dict) else None
            if isinstance(variants, list) and model in variants:
                return next((m for m in loaded if m.model == item.get("key")), None)
    return None


def router_status(body: Any, model: str) -> tuple[str | None, bool]:
    """``(status value, failed)`` of ``model`` in a router listing; ``(None, False)`` if not listed."""
    data = body.get("data") if isinstance(body, dict) else None
    for item in data if isinstance(data, list) else []:
        if isinstance(item, dict) and item.get("id") == model:
            status = item.get("status")
            if isinstance(status, dict):
                return _str(status.get("value")), bool(status.get("failed"))
            return None, False
    return None, False


def listed_unloaded(api: LifecycleApi, body: Any, model: str) -> bool:
    """Whether a listing names ``model`` and says it is not (yet) in memory."""
    if not isinstance(body, dict) or "error" in body:
        return False
    if api == "lmstudio":
        if any(model in (m.instance_id, m.model) for m in loaded_models(api, body)):
            return False
        return any(isinstance(item, dict) and item.get("key") == model for item in body.get("models") or [])
    if api == "router":
        value, _ = router_status(body, model)
        return value is not None and value != "loaded"
    if api == "v0":
        data = body.get("data") or []
        return any(isinstance(i, dict) and i.get("id") == model and i.get("state") == "not-loaded" for i in data)
    return False


def download_progress(model: str, body: Any, previous: DownloadProgress | None, elapsed: float) -> DownloadProgress:
    """Read a download job; measure the rate from ``previous`` when the server gives none."""
    if not isinstance(body, dict) or body.get("status") not in _STATUSES:
        raise ValueError(f"not a download job: {body!r:.200}")
    done = _int(body.get("downloaded_bytes"))
    rate = body.get("bytes_per_second")
    rate = float(rate) if isinstance(rate, (int, float)) and not isinstance(rate, bool) else None
    if (
        rate is None
        and done is not None
        and previous is not None
        and previous.downloaded_bytes is not None
        and elapsed > 0
    ):
        rate = max(done - previous.downloaded_bytes, 0) / elapsed
    job_id = body.get("job_id")
    return DownloadProgress(
        model=model,
        status=body["status"],
        job_id=str(job_id) if isinstance(job_id, (str, int)) else (previous.job_id if previous else None),
        downloaded_bytes=done,
        total_size_bytes=_int(body.get("total_size_bytes"))
        or (previous.total_size_bytes if previous is not None else None),
        bytes_per_second=rate,
        estimated_completion=_str(body.get("estimated_completion")),
        started_at=_str(body.get("started_at")),
        completed_at=_str(body.get("completed_at")),
    )
