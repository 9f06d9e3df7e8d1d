"""Local or cloud: can LM Studio serve this model right now, and if not, why.

Framework-neutral: the LangChain and LlamaIndex selectors turn a :class:`Decision` into a
model object. The probe is one ``GET /v1/models`` with its own short timeout and no
retries, so a closed port is decided in milliseconds and a silent host within the probe
timeout; its result is cached for ``LM_STUDIO_PROBE_CACHE_TTL`` seconds.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Literal

from lmstudio_adapters._checks import PREFERENCES, check_api_key, check_choice
from lmstudio_adapters._client import LMStudioClient
from lmstudio_adapters._config import DEFAULT_MODEL, LMStudioSettings, current_settings, normalize_base_url
from lmstudio_adapters._errors import (
    APIConnectionError,
    AuthenticationError,
    ConfigError,
    LMStudioAdapterError,
    NoBackendError,
)

__all__ = ["Decision", "ProbeResult", "clear_probe_cache", "decide_backend", "probe"]

logger = logging.getLogger("lmstudio_adapters.selector")


@dataclass(frozen=True)
class ProbeResult:
    """What one look at the LM Studio server found."""

    base_url: str
    reachable: bool
    model_ids: tuple[str, ...] = ()
    problem: str = ""
    checked_at: float = field(default_factory=time.monotonic)
    elapsed: float = 0.0


@dataclass(frozen=True)
class Decision:
    """Which backend was chosen and why; ``str(decision)`` is the one-line explanation.

    Attributes:
        target: ``"local"`` (LM Studio) or ``"cloud"``.
        provider: ``"lmstudio"`` or the cloud provider name.
        model: The model id to use on that provider.
        reason: Why, in words (no secrets).
        base_url: The LM Studio URL that was probed.
        probe: What the probe found (None when the choice was forced by configuration).
    """

    target: Literal["local", "cloud"]
    provider: str
    model: str
    reason: str
    base_url: str
    probe: ProbeResult | None = None
    fallback: str | None = None
    """The configured cloud model (``provider:model``), whatever the choice; for runtime fallback."""

    def __str__(self) -> str:
        where = "LM Studio" if self.target == "local" else f"cloud ({self.provider})"
        return f"{where}, model {self.model}: {self.reason}"


_cache: dict[tuple[str, str], ProbeResult] = {}
_found: dict[tuple[str, str], tuple[float, ProbeResult | None]] = {}
_cache_lock = threading.Lock()


def clear_probe_cache() -> None:
    """Forget cached probe results (the next selection probes again)."""
    with _cache_lock:
        _cache.clear()
        _found.clear()


def probe(base_url: str, *, timeout: float, api_key: str | None = None, cache_ttl: float = 0.0) -> ProbeResult:
    """Look at the server once (or reuse a look younger than ``cache_ttl`` seconds)."""
    key = (base_url, api_key or "")
    now = time.monotonic()
    with _cache_lock:
        cached = _cache.get(key)
    if cached is not None and now - cached.checked_at < cache_ttl:
        return cached
    start = time.monotonic()
    try:
        with LMStudioClient(base_url, api_key=api_key, timeout=timeout, max_retries=0, api="openai") as client:
            ids = tuple(model.id for model in client.list_models())
        result = ProbeResult(base_url, True, ids, elapsed=time.monotonic() - start)
    except ConfigError:
        raise  # our own configuration is wrong: say so, never "not reachable" (and never the cloud)
    except AuthenticationError:
        result = ProbeResult(
            base_url,
            False,
            problem="it requires an API token (set LM_STUDIO_API_KEY)",
            elapsed=time.monotonic() - start,
        )
    except APIConnectionError as exc:
        cause = "no answer within the probe timeout" if isinstance(exc, TimeoutError) else _short_cause(exc)
        result = ProbeResult(base_url, False, problem=cause, elapsed=time.monotonic() - start)
    except LMStudioAdapterError as exc:
        result = ProbeResult(
            base_url, False, problem=f"it answered with an error ({exc})", elapsed=time.monotonic() - start
        )
    with _cache_lock:
        _cache[key] = result
    return result


def find_lmstudio(default_url: str, *, timeout: float, api_key: str | None, cache_ttl: float) -> ProbeResult | None:
    """LM Studio on this machine's other usual ports (see ``discover``), when nothing answers at the default.

    The result, found or not, is reused for ``cache_ttl`` seconds like a probe's.
    """
    from lmstudio_adapters._discovery import default_ports, discover

    key = (default_url, api_key or "")
    now = time.monotonic()
    with _cache_lock:
        cached = _found.get(key)
    if cached is not None and now - cached[0] < cache_ttl:
        return cached[1]
    ports = default_ports(default_url)[1:]  # the default's own port was just probed
    servers = [server for server in discover(ports=ports, timeout=timeout) if server.kind == "lmstudio"]
    result = None
    for server in servers:
        result = probe(server.url, timeout=timeout, api_key=api_key, cache_ttl=cache_ttl)
        if result.reachable:
            break
    with _cache_lock:
        _found[key] = (time.monotonic(), result)
    return result


def _short_cause(exc: APIConnectionError) -> str:
    text = str(exc)
    if "(" in text and ")" in text:
        return text[text.index("(") + 1 : text.index(")")]
    return text


def decide_backend(
    model: str | None = None,
    *,
    base_url: str | None = None,
    fallback: str | None = None,
    prefer: str | None = None,
    api_key: str | None = None,
    settings: LMStudioSettings | None = None,
) -> Decision:
    """Decide whether LM Studio can serve ``model``, else which cloud model to use.

    Args:
        model: The LM Studio model id (default ``LM_STUDIO_MODEL``). The default placeholder
            ``local-model`` means "whatever LM Studio has loaded".
        base_url: LM Studio's URL (default ``LM_STUDIO_URL``, else ``http://localhost:1234``).
        fallback: Cloud model as ``provider:model`` (default ``LM_STUDIO_FALLBACK``).
        prefer: ``local`` (default), ``cloud`` (use the fallback without probing) or
            ``local-only`` (never the cloud) (default ``LM_STUDIO_PREFER``).
        api_key: LM Studio token, if the server requires one.
        settings: Settings to read defaults from instead of the environment.

    Raises:
        NoBackendError: LM Studio cannot serve and no cloud fallback is allowed or configured.
        ConfigError: ``prefer``, ``fallback``, ``base_url`` or ``api_key`` is malformed. A
            configuration error is raised, never taken as "LM Studio is down": it does not
            send the request to the cloud.
    """
    settings = settings if settings is not None else current_settings()
    url = normalize_base_url(base_url) if base_url else settings.base_url
    wanted = model or settings.model
    preference = check_choice(prefer or settings.prefer, PREFERENCES, source="prefer")
    cloud = fallback if fallback is not None else settings.fallback
    provider, _, cloud_model = (cloud or "").partition(":")
    if cloud and (not provider or not cloud_model):
        raise ConfigError(f"fallback={cloud!r} is invalid: expected provider:model, such as openai:gpt-4o-mini.")
    if api_key is not None:
        key = check_api_key(api_key)
    else:
        key = settings.api_key.get_secret_value() if settings.api_key else None
    if preference == "cloud":
        if not cloud:
            raise NoBackendError("prefer='cloud' needs a cloud model: set LM_STUDIO_FALLBACK=provider:model.")
        return _log(
            Decision("cloud", provider, cloud_model, "forced by configuration (prefer=cloud)", url, None, cloud)
        )
    found = probe(url, timeout=settings.probe_timeout, api_key=key, cache_ttl=settings.probe_cache_ttl)
    where = ""
    # Search only when LM_STUDIO_URL is unset (a URL the user gave is the only place to look)
    # and nothing answered at the default (an auth or other error means LM Studio is there).
    searched = (
        not found.reachable
        and not base_url
        and "url" not in settings.model_fields_set
        and not found.problem.startswith("it ")
    )
    if searched:
        located = find_lmstudio(url, timeout=settings.probe_timeout, api_key=key, cache_ttl=settings.probe_cache_ttl)
        if located is not None and located.reachable:
            where = f" (found by discovery: nothing answers at {url}, LM_STUDIO_URL is not set)"
            url, found = located.base_url, located
    if found.reachable:
        if wanted in found.model_ids:
            return _log(
                Decision("local", "lmstudio", wanted, f"LM Studio at {url} lists {wanted}{where}", url, found, cloud)
            )
        if wanted == DEFAULT_MODEL and found.model_ids:
            return _log(
                Decision(
                    "local",
                    "lmstudio",
                    wanted,
                    f"LM Studio at {url} is up and no model was named{where}",
                    url,
                    found,
                    cloud,
                )
            )
        listed = ", ".join(found.model_ids) or "none"
        why = f"model {wanted} is not available on LM Studio at {url} (it has: {listed}){where}"
    else:
        why = f"LM Studio is not reachable at {url} ({found.problem})"
        if searched:
            why += ", nor found on the other ports LM Studio uses"
    if preference == "local-only" or not cloud:
        fix = (
            "prefer='local-only' forbids the cloud"
            if preference == "local-only"
            else ("set LM_STUDIO_FALLBACK=provider:model (for example openai:gpt-4o-mini) to fall back to the cloud")
        )
        raise NoBackendError(f"Cannot use LM Studio: {why}. Start LM Studio and load the model, or {fix}.")
    return _log(Decision("cloud", provider, cloud_model, why, url, found, cloud))


def _log(decision: Decision) -> Decision:
    logger.info("selected %s", decision)
    return decision
