"""Test helpers for code built on lmstudio-adapters: a real local model server and cassettes.

* :class:`LocalModelServer`: a real llama.cpp server with small real models from PyPI.
* :func:`vcr_config_dict`: vcrpy settings that replay LM Studio traffic reliably.
* :class:`SamplingProxy` / :class:`Perturbation`: run against a server with perturbed
  sampling (``LMSTUDIO_ADAPTERS_PERTURB``), to prove tests do not depend on exact outputs.
* The pytest plugin (entry point ``lmstudio_adapters``): ``lmstudio_cassette``,
  ``lmstudio_url``, ``lmstudio_local_server`` fixtures and ``--lmstudio-record``.

Nothing here is imported by ``import lmstudio_adapters``.
"""

from lmstudio_adapters.testing._perturb import PERTURB_ENV, Perturbation, SamplingProxy
from lmstudio_adapters.testing._server import (
    CHAT_MODEL,
    COMPLETION_MODEL,
    EMBEDDING_MODEL,
    LocalModelServer,
    ServerSetupError,
)
from lmstudio_adapters.testing.cassettes import BODY_MATCHER, body_matcher, scrub_paths, vcr_config_dict

__all__ = [
    "BODY_MATCHER",
    "CHAT_MODEL",
    "COMPLETION_MODEL",
    "EMBEDDING_MODEL",
    "PERTURB_ENV",
    "LocalModelServer",
    "Perturbation",
    "SamplingProxy",
    "ServerSetupError",
    "body_matcher",
    "scrub_paths",
    "vcr_config_dict",
]
