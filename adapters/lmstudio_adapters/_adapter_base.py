"""``AdapterModel``: what every framework model shares, whatever its framework names its fields.

LangChain's and LlamaIndex's chat models and embeddings declare their own fields, spelled as
their framework spells them (``timeout`` or ``request_timeout``, ``model`` or ``model_name``).
This base reads those fields once per class and owns the rest: the ``LM_STUDIO_*`` defaults
filled in at construction, a bad value raised as our ``ConfigError``, and the shared sync and
async clients the fields select. It imports no framework.
"""

from __future__ import annotations

from operator import attrgetter
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, PrivateAttr, ValidationError, model_validator

from lmstudio_adapters._model_config import accepted_names, raise_config_error, with_settings_defaults
from lmstudio_adapters._pool import ClientKey, client_key, shared_async_client, shared_client

if TYPE_CHECKING:
    from lmstudio_adapters._async_client import AsyncLMStudioClient
    from lmstudio_adapters._client import LMStudioClient
    from lmstudio_adapters._config import LMStudioSettings
    from lmstudio_adapters._lifecycle_wire import LoadedModel

__all__ = ["SPELLINGS", "AdapterClients", "AdapterModel"]

#: The two settings each framework spells its own way. A model declares one spelling as its
#: field and takes the other as an alias (``LMStudioLLM(timeout=5).request_timeout == 5``).
SPELLINGS = (("model", "model_name"), ("timeout", "request_timeout"))

# The fields that select a client, by ``client_key``'s names; only chat models have the last two.
_CLIENT_FIELDS = (
    "base_url",
    "api_key",
    "timeout",
    "max_retries",
    "max_connections",
    "parse_think_tags",
    "stream_usage",
)
_OPTIONAL_CLIENT_FIELDS = frozenset({"parse_think_tags", "stream_usage"})


class AdapterClients:
    """A model's handle on its shared clients' key.

    Resolves the key once (the ``LM_STUDIO_*`` defaults included) and again only when the
    model's own client fields change, so a call does not rebuild it.
    """

    __slots__ = ("_inputs", "_key", "_settings")

    def __init__(self) -> None:
        self._settings: LMStudioSettings | None = None
        self._inputs: tuple[Any, ...] | None = None
        self._key: ClientKey | None = None

    def __eq__(self, other: object) -> bool:
        # A cache, not part of the model's value: two equal models stay equal whatever they ran.
        return isinstance(other, AdapterClients)

    __hash__ = None  # type: ignore[assignment]

    def key(self, inputs: tuple[Any, ...], model: AdapterModel) -> ClientKey:
        """The shared-client key for ``model``'s client field values ``inputs``."""
        if self._key is None or inputs != self._inputs:
            if self._settings is None:
                from lmstudio_adapters._config import current_settings  # pydantic-settings, on first use

                self._settings = current_settings()
            self._key = client_key(self._settings, **dict(zip(model._client_names, inputs, strict=True)))
            self._inputs = inputs
        return self._key


class AdapterModel(BaseModel):
    """Base of the framework models: ``LM_STUDIO_*`` defaults, ``ConfigError``, shared clients.

    A subclass declares ``base_url``, ``api_key``, ``max_retries``, ``max_connections``, one
    spelling of each of :data:`SPELLINGS` and, for chat, ``parse_think_tags`` and
    ``stream_usage``; it may override :meth:`_take_unknown` for arguments it does not take.
    """

    _clients: AdapterClients = PrivateAttr(default_factory=AdapterClients)

    # Read from each subclass's fields when pydantic has built it (``__pydantic_init_subclass__``).
    _model_field: ClassVar[str] = "model"
    _other_spellings: ClassVar[dict[str, str]] = {}
    _also_accepted: ClassVar[tuple[str, ...]] = ()
    """Names the framework passes back to the constructor that are not fields (a subclass sets it)."""
    _accepted: ClassVar[frozenset[str]] = frozenset()
    _client_names: ClassVar[tuple[str, ...]] = ()
    _client_inputs: ClassVar[attrgetter[tuple[Any, ...]]]

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        fields = cls.model_fields
        declared: dict[str, str] = {}
        others: dict[str, str] = {}
        for spelling, other in SPELLINGS:
            field = spelling if spelling in fields else other
            if field not in fields:
                raise TypeError(f"{cls.__name__} declares neither {spelling!r} nor {other!r}")
            declared[spelling] = field
            others[other if field == spelling else spelling] = field
        cls._model_field = declared["model"]
        cls._other_spellings = others
        cls._accepted = accepted_names(fields, extra=(*others, *cls._also_accepted))
        names = tuple(name for name in _CLIENT_FIELDS if declared.get(name, name) in fields)
        missing = set(_CLIENT_FIELDS) - _OPTIONAL_CLIENT_FIELDS - set(names)
        if missing:
            raise TypeError(f"{cls.__name__} declares no {', '.join(sorted(missing))}")
        cls._client_names = names
        cls._client_inputs = attrgetter(*(declared.get(name, name) for name in names))
        # Pydantic wraps the inherited hook once more for every subclass with private attributes,
        # which would set them up twice per construction: the base's wrapper already does it.
        if getattr(cls.model_post_init, "__wrapped__", None) is AdapterModel.model_post_init:
            cls.model_post_init = AdapterModel.model_post_init  # type: ignore[method-assign]

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise_config_error(exc)  # a bad LM_STUDIO_* value surfaces as our ConfigError, not pydantic's wrapper
            raise

    def model_post_init(self, context: Any, /) -> None:
        """Pydantic's hook after ``__init__``; the framework's own runs too (LangChain records its version)."""
        # Without this, pydantic would give this base (it has a private attribute) a model_post_init
        # that only sets private attributes, and it would hide the framework's from every subclass.
        super().model_post_init(context)

    @model_validator(mode="before")
    @classmethod
    def _defaults_from_settings(cls, values: Any) -> Any:
        values = cls._take_unknown(values)
        return with_settings_defaults(values, model_key=cls._model_field, aliases=cls._other_spellings)

    @classmethod
    def _take_unknown(cls, values: Any) -> Any:
        """What to do with constructor arguments not in ``cls._accepted``: by default, leave them to pydantic."""
        return values

    # --- clients ----------------------------------------------------------------------

    def _client_key(self) -> ClientKey:
        # Read from __pydantic_private__: pydantic's private-attribute lookup costs microseconds per call.
        clients: AdapterClients = self.__pydantic_private__["_clients"]  # type: ignore[index]
        # Through the instance: on a pydantic class (its metaclass has __getattr__) a lookup costs twice as much.
        return clients.key(self._client_inputs(self), self)

    @property
    def client(self) -> LMStudioClient:
        """The shared sync client for this model's settings (created on first use)."""
        return shared_client(self._client_key())

    @property
    def async_client(self) -> AsyncLMStudioClient:
        """The shared async client for this model's settings (created on first use)."""
        return shared_async_client(self._client_key())

    def ensure_loaded(self, **config: Any) -> LoadedModel:
        """Make sure this model is in LM Studio's memory; load it if it is not.

        Call it once before the first request to avoid the just-in-time load counting against
        the request timeout. ``config`` takes load options such as ``context_length``; see
        :meth:`lmstudio_adapters.LMStudioClient.ensure_loaded`.
        """
        return self.client.ensure_loaded(self._model_id(), **config)

    async def aensure_loaded(self, **config: Any) -> LoadedModel:
        """The async form of :meth:`ensure_loaded`."""
        return await self.async_client.ensure_loaded(self._model_id(), **config)

    def _model_id(self) -> str:
        return str(getattr(self, self._model_field) or "")
