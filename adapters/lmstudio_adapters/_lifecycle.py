"""Model lifecycle plans: list loaded models, load, unload, ensure loaded, download.

Sans I/O, like the listing plan in ``_core``: each plan yields a :class:`~._core.Call` (and
receives the answer's JSON, or has the error thrown in) or a :class:`Wait` (the client
sleeps, then resumes it). The route is chosen by what the server answers, once per client;
the wire formats are described in ``_lifecycle_wire``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from typing import Any

from lmstudio_adapters._core import EXPLAIN_TIMEOUT, Call, ClientCore, logger
from lmstudio_adapters._errors import (
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    DownloadError,
    FeatureNotSupportedError,
    InputError,
    ModelNotLoadedError,
    ResponseError,
)
from lmstudio_adapters._lifecycle_wire import (
    LIST_ROUTES,
    DownloadProgress,
    LifecycleApi,
    LoadedModel,
    download_progress,
    find_loaded,
    listed_unloaded,
    loaded_models,
    router_status,
    sniff_api,
)

__all__ = ["LOAD_CONFIG_FIELDS", "LifecycleCore", "LifecyclePlan", "ProgressCallback", "Wait"]

#: Load options LM Studio 0.4's ``POST /api/v1/models/load`` accepts besides ``context_length``.
LOAD_CONFIG_FIELDS = (
    "eval_batch_size",
    "flash_attention",
    "num_experts",
    "offload_kv_cache_to_gpu",
    "echo_load_config",
)
#: Seconds between two polls of a router load or a download: short at first, then steady.
POLL_INTERVALS = (0.1, 0.25, 0.5, 1.0)
#: ``listing API`` per model-listing flavour found by ``list_models``.
_FROM_DETECTED: dict[str, LifecycleApi] = {"v1": "lmstudio", "v0": "v0"}
_INFERENCE_PATHS = ("/v1/chat/completions", "/v1/completions", "/v1/embeddings")

ProgressCallback = Callable[[DownloadProgress], object]


@dataclass(frozen=True, slots=True)
class Wait:
    """A pause the client makes before resuming the plan (polling)."""

    seconds: float


LifecyclePlan = Generator["Call | Wait", Any, Any]


def _interval(poll: int) -> float:
    return POLL_INTERVALS[min(poll, len(POLL_INTERVALS) - 1)]


def _unsupported(feature: str, api: LifecycleApi, model: str) -> FeatureNotSupportedError:
    shown = model or "<model>"
    if feature == "download":
        if api == "router":
            return FeatureNotSupportedError(
                "llama.cpp's router has no download route. Put the GGUF file in its models folder or "
                "preset (or start llama-server with -hf <repo>); LM Studio 0.4+ downloads over HTTP.",
                feature=feature,
                since="0.4.0",
            )
        return FeatureNotSupportedError(
            "Downloading a model over HTTP needs LM Studio 0.4.0 or newer (POST /api/v1/models/download); "
            f"this server does not have it. Run `lms get {shown}` or use LM Studio's Discover tab, "
            "or update LM Studio.",
            feature=feature,
            since="0.4.0",
        )
    if feature == "list loaded models":
        return FeatureNotSupportedError(
            "This server does not say which models are loaded: that needs LM Studio 0.3.6 or newer "
            "(GET /api/v0/models) or 0.4+ (GET /api/v1/models). Run `lms ps` to see them.",
            feature=feature,
            since="0.3.6",
        )
    action = "unload" if feature == "unload" else "load"
    fix = (
        f"Run `lms unload {shown}`; models loaded just in time also unload by themselves after their idle TTL."
        if action == "unload"
        else f"Run `lms load {shown}`, or call ensure_loaded(), which loads it just in time with a 1-token request."
    )
    return FeatureNotSupportedError(
        f"{action.capitalize()}ing a model over HTTP needs LM Studio 0.4.0 or newer "
        f"(POST /api/v1/models/{action}); this server does not have it. {fix} Or update LM Studio.",
        feature=feature,
        since="0.4.0",
    )


class LifecycleCore(ClientCore):
    """The lifecycle plans both clients share; they only run them (``_run``)."""

    _lifecycle_api: LifecycleApi | None = None

    @property
    def load_timeout(self) -> float:
        """Seconds a load may take (``LM_STUDIO_LOAD_TIMEOUT``, milliseconds; default 10 minutes)."""
        return self.settings.load_timeout

    # --- route choice -----------------------------------------------------------------

    def _lifecycle_plan(self, *, listing: bool) -> Generator[Call, Any, tuple[LifecycleApi, Any]]:
        """Find the server's lifecycle API (once per client); with ``listing``, also its model list."""
        known = self._lifecycle_api
        if known is not None:
            if not listing or known == "none":
                return known, None
            call = self._call("GET", LIST_ROUTES[known], None, timeout=None, max_retries=None)
            return known, self._checked(call, (yield call))
        detected = "none" if self._detected == "openai" else _FROM_DETECTED.get(self._detected or "")
        candidates: tuple[LifecycleApi, ...] = (detected,) if detected is not None else ("lmstudio", "v0", "none")
        for candidate in candidates:
            path = "/v1/models" if candidate == "none" else LIST_ROUTES[candidate]
            try:
                body = yield self._call("GET", path, None, timeout=None, max_retries=None)
            except AuthenticationError:
                raise
            except APIStatusError:
                continue
            found = sniff_api(path, body)
            if found is not None:
                self._lifecycle_api = found
                logger.debug("server at %s has the %s model lifecycle API", self.base_url, found)
                return found, body
        self._lifecycle_api = "none"
        return "none", None

    # --- plans ------------------------------------------------------------------------

    def _list_loaded_plan(self) -> Generator[Call, Any, list[LoadedModel]]:
        api, body = yield from self._lifecycle_plan(listing=True)
        if api == "none":
            raise _unsupported("list loaded models", api, "")
        return loaded_models(api, body)

    def _load_plan(
        self, model: str, context_length: int | None, config: Mapping[str, Any], api: LifecycleApi | None = None
    ) -> LifecyclePlan:
        if context_length is not None and (
            isinstance(context_length, bool) or not isinstance(context_length, int) or context_length < 1
        ):
            raise InputError(f"context_length={context_length!r} is invalid: expected a whole number of tokens.")
        unknown = set(config) - set(LOAD_CONFIG_FIELDS)
        if unknown:
            known = ", ".join(LOAD_CONFIG_FIELDS)
            raise TypeError(f"Unknown load option(s) {', '.join(sorted(unknown))}; known: context_length, {known}.")
        if api is None:
            api, _ = yield from self._lifecycle_plan(listing=False)
        if api == "lmstudio":
            body: dict[str, Any] = {"model": model}
            if context_length is not None:
                body["context_length"] = context_length
            body.update({key: value for key, value in config.items() if value is not None})
            call = self._call(
                "POST", "/api/v1/models/load", body, model=model, timeout=self.load_timeout, max_retries=0
            )
            reply = self._checked(call, (yield call))
            instance = reply.get("instance_id")
            if not isinstance(instance, str):
                raise self._not_shaped(call, reply, "a loaded model")
            seconds = reply.get("load_time_seconds")
            return LoadedModel(
                instance_id=instance,
                model=model,
                type={"embedding": "embeddings"}.get(str(reply.get("type")), reply.get("type")),
                context_length=context_length,
                load_time_seconds=float(seconds) if isinstance(seconds, (int, float)) else None,
            )
        if api == "router":
            if context_length is not None or config:
                raise InputError(
                    "llama.cpp's router takes the context length and other load options from its preset "
                    "(the `c = N` line of the model's section), not from the load request."
                )
            return (yield from self._router_load_plan(model))
        raise _unsupported("load", api, model)

    def _router_load_plan(self, model: str) -> LifecyclePlan:
        call = self._call("POST", "/models/load", {"model": model}, model=model, timeout=None, max_retries=0)
        try:
            self._checked(call, (yield call))
        except APIStatusError as exc:
            if "already running" not in exc.server_message:  # loaded just in time meanwhile: fine
                raise
        deadline = time.monotonic() + self.load_timeout
        started, poll = False, 0
        while True:
            listing = self._call("GET", LIST_ROUTES["router"], None, timeout=None, max_retries=None)
            listed = self._checked(listing, (yield listing))
            value, failed = router_status(listed, model)
            if value == "loaded":
                return next(m for m in loaded_models("router", listed) if m.instance_id == model)
            started = started or value == "loading"
            if value is None or (failed and value == "unloaded" and (started or poll >= 3)):
                raise ModelNotLoadedError(
                    f"llama.cpp's router could not load model {model!r} (its process exited"
                    f"{'' if value else '; the model is not listed'}). Check the server log and the model's preset.",
                    status_code=200,
                    model=model,
                    method="POST",
                    url=call.url(self.base_url),
                )
            if time.monotonic() > deadline:
                raise APITimeoutError(
                    f"Model {model!r} did not finish loading within {self.load_timeout:g} s "
                    f"(LM_STUDIO_LOAD_TIMEOUT={self.settings.load_timeout_ms}). Raise LM_STUDIO_LOAD_TIMEOUT "
                    "(milliseconds) for large models.",
                    method="POST",
                    url=call.url(self.base_url),
                    timeout=self.load_timeout,
                )
            yield Wait(_interval(poll))
            poll += 1

    def _unload_plan(self, instance_id: str) -> LifecyclePlan:
        api, _ = yield from self._lifecycle_plan(listing=False)
        if api == "lmstudio":
            call = self._call(
                "POST",
                "/api/v1/models/unload",
                {"instance_id": instance_id},
                model=instance_id,
                timeout=None,
                max_retries=0,
            )
            self._checked(call, (yield call))
            return None
        if api == "router":
            call = self._call(
                "POST", "/models/unload", {"model": instance_id}, model=instance_id, timeout=None, max_retries=0
            )
            self._checked(call, (yield call))
            deadline, poll = time.monotonic() + self.timeout, 0
            while True:
                listing = self._call("GET", LIST_ROUTES["router"], None, timeout=None, max_retries=None)
                value, _ = router_status(self._checked(listing, (yield listing)), instance_id)
                if value not in ("loaded", "loading"):
                    return None
                if time.monotonic() > deadline:
                    raise APITimeoutError(
                        f"llama.cpp's router still lists {instance_id!r} as {value} {self.timeout:g} s after "
                        f"unloading it (limit from {self.timeout_source}). Check the server log.",
                        method="POST",
                        url=call.url(self.base_url),
                        timeout=self.timeout,
                    )
                yield Wait(_interval(poll))
                poll += 1
        raise _unsupported("unload", api, instance_id)

    def _ensure_plan(self, model: str, config: Mapping[str, Any]) -> LifecyclePlan:
        api, body = yield from self._lifecycle_plan(listing=True)
        loaded = find_loaded(api, body, model)
        if loaded is not None:
            return loaded
        if api in ("lmstudio", "router"):
            config = dict(config)
            return (yield from self._load_plan(model, config.pop("context_length", None), config, api))
        if any(value is not None for value in config.values()):
            raise _unsupported("load", api, model)
        return (yield from self._warm_plan(model, api, body))

    def _warm_plan(self, model: str, api: LifecycleApi, body: Any) -> LifecyclePlan:
        """Just-in-time loading (LM Studio before 0.4): the smallest request that makes it load."""
        kind = None
        for item in (body or {}).get("data") or [] if isinstance(body, dict) else []:
            if isinstance(item, dict) and item.get("id") == model:
                kind = item.get("type")
        embedding = kind == "embeddings" or (kind is None and "embed" in model.lower())
        if embedding:
            call = self._embeddings_call(
                "warm up", model=model, extra_body=None, timeout=self.load_timeout, max_retries=0
            )
        else:
            call = self._chat_call(
                [{"role": "user", "content": "hi"}],
                model=model,
                stream=False,
                timeout=self.load_timeout,
                max_retries=0,
                params={"max_tokens": 1},
            )
        self._checked(call, (yield call))
        return LoadedModel(instance_id=model, model=model, type="embeddings" if embedding else kind)

    def _download_plan(
        self, model: str, quantization: str | None, on_progress: ProgressCallback | None, poll_interval: float
    ) -> LifecyclePlan:
        api, _ = yield from self._lifecycle_plan(listing=False)
        if api != "lmstudio":
            raise _unsupported("download", api, model)
        body: dict[str, Any] = {"model": model}
        if quantization is not None:
            body["quantization"] = quantization
        call = self._call("POST", "/api/v1/models/download", body, model=model, timeout=None, max_retries=0)
        progress: DownloadProgress | None = None
        reply, at = self._checked(call, (yield call)), time.monotonic()
        stalled_since, best = at, -1
        while True:
            try:
                progress = download_progress(model, reply, progress, time.monotonic() - at)
            except ValueError:
                raise self._not_shaped(call, reply, "a download job") from None
            at = time.monotonic()
            if on_progress is not None:
                on_progress(progress)
            if progress.finished:
                return progress
            if progress.status == "failed":
                raise DownloadError(
                    f"Downloading {model!r} failed on the server (job {progress.job_id}). Check the free disk "
                    "space and LM Studio's Downloads panel, then try again.",
                    progress=progress,
                    method=call.method,
                    url=call.url(self.base_url),
                )
            if progress.job_id is None:
                raise self._not_shaped(call, reply, "a download job with a job_id")
            if (progress.downloaded_bytes or 0) > best:
                best, stalled_since = progress.downloaded_bytes or 0, at
            elif at - stalled_since > self.load_timeout:
                raise DownloadError(
                    f"Downloading {model!r} made no progress for {self.load_timeout:g} s (status {progress.status}, "
                    f"limit from LM_STUDIO_LOAD_TIMEOUT). Resume it in LM Studio's Downloads panel, or check the "
                    "network.",
                    progress=progress,
                    method=call.method,
                    url=call.url(self.base_url),
                )
            yield Wait(poll_interval)
            call = self._call(
                "GET",
                f"/api/v1/models/download/status/{progress.job_id}",
                None,
                model=model,
                timeout=None,
                max_retries=None,
            )
            reply = self._checked(call, (yield call))

    def _timeout_hint_plan(self, call: Call, error: APITimeoutError) -> Generator[Call, Any, APITimeoutError]:
        """One listing, on a timed-out inference call: was the model being loaded just in time?"""
        api = (
            self._lifecycle_api
            or _FROM_DETECTED.get(self._detected or "")
            or ("router" if self._detected == "openai" else "v0")
        )
        if api == "none" or not call.model or call.path not in _INFERENCE_PATHS:
            return error
        path = "/v1/models" if api == "router" else LIST_ROUTES[api]
        body = yield self._call("GET", path, None, timeout=min(self.timeout, EXPLAIN_TIMEOUT), max_retries=0)
        if not listed_unloaded(api, body, call.model):
            return error
        hinted = APITimeoutError(
            f"{error.message} The server lists {call.model!r} as not loaded: it was probably loading it just in "
            f"time, which can take longer than the timeout. Load it first (client.ensure_loaded({call.model!r}), "
            f"model.ensure_loaded() or `lms load {call.model}`), or raise LM_STUDIO_TIMEOUT (milliseconds).",
            method=error.method,
            url=error.url,
            timeout=error.timeout,
        )
        hinted.__cause__ = error.__cause__
        return hinted

    # --- replies ----------------------------------------------------------------------

    def _checked(self, call: Call, body: Any) -> dict[str, Any]:
        """A reply as a dict; an error body (LM Studio sends some with HTTP 200) raises it typed."""
        if isinstance(body, dict) and "error" in body:
            raise self._error(call, 200, json.dumps(body).encode())
        if not isinstance(body, dict):
            raise self._not_shaped(call, body, "a JSON object")
        return body

    def _not_shaped(self, call: Call, body: Any, expected: str) -> ResponseError:
        return ResponseError(
            f"LM Studio's answer to {call.method} {call.path} is not {expected}: {json.dumps(body)[:200]!r}. "
            "Check that LM_STUDIO_URL points at LM Studio.",
            method=call.method,
            url=call.url(self.base_url),
        )
