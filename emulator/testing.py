"""Start the emulator in-process (a background thread) for tests, the demo and benchmarks.

    with running_emulator() as emu:               # the bundled sample space, HTTPS
        settings = load_settings(confluence=emu.confluence_settings(), data={"dir": tmp})
        emu.admin.edit("10001", title="New title")
        emu.admin.set_restrictions("10001", groups=["corvid-security"])   # no version bump

    with running_emulator(datacenter=True, context_path="/confluence") as emu:   # Data Center mode
        settings = load_settings(confluence=emu.confluence_settings(), ...)  # deployment, pat, context

    with running_emulator(items, spaces=[{"key": "HR", "name": "HR",
                                          "permissions": {"groups": ["hr"], "anonymous": False}}],
                          groups=[{"name": "hr", "members": ["acc-1"]}]) as emu: ...
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emulator.admin import EmulatorAdmin
from emulator.server import EmulatorServer
from emulator.store import Store

DEFAULT_EMAIL = "kb-emulator@example.com"
DEFAULT_ACCOUNT = "557058:kb-emulator"

_FALLBACK_ITEMS = [
    {"id": "65601", "type": "page", "space": "DEMO", "title": "Demo Home",
     "body": "<h1>Welcome</h1><p>The emulator's fallback space: the sample corpus is not there.</p>"},
]


@dataclass
class EmulatorHandle:
    """A running emulator: where it is, how to log in, and its admin client."""

    server: EmulatorServer
    admin: EmulatorAdmin = field(init=False)

    def __post_init__(self) -> None:
        self.admin = EmulatorAdmin(self.url, ca_path=self.ca_path or None)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def domain(self) -> str:
        return self.server.domain

    @property
    def email(self) -> str:
        return self.server.email

    @property
    def token(self) -> str:
        return self.server.token

    @property
    def ca_path(self) -> str:
        return self.server.ca_path

    @property
    def store(self) -> Store:
        return self.server.store

    @property
    def datacenter(self) -> bool:
        return self.server.datacenter

    @property
    def rest(self) -> str:
        """The REST base path: /wiki/rest/api on Cloud, {context}/rest/api on Data Center."""
        return f"{self.server.context}/rest/api"

    @property
    def site_url(self) -> str:
        """Scheme, host and context path: what page links start with."""
        return self.server.url + self.server.context

    @property
    def username(self) -> str:
        return self.server.username

    def login(self, email: str) -> str:
        """How a person is named to the knowledge base: the email on Cloud, the username on Data
        Center (its person objects carry no email)."""
        from emulator.datacenter import username

        user = next((u for u in self.store.users.values() if u.email == email), None)
        return username(user) if self.datacenter and user is not None else email

    def confluence_settings(self) -> dict[str, Any]:
        """The [confluence] settings that point the product at this emulator."""
        if self.datacenter:
            return {"deployment": "datacenter", "domain_name": self.domain,
                    "context_path": self.server.context, "pat": self.token, "ca_bundle": self.ca_path,
                    "scheme": self.server.scheme}
        return {"domain_name": self.domain, "email": self.email, "api_token": self.token,
                "ca_bundle": self.ca_path, "scheme": self.server.scheme}

    def stop(self) -> None:
        self.admin.close()
        self.server.stop()


def _corpus_module() -> Any:
    try:
        from emulator import corpus
    except ImportError:  # the corpus module not there yet: a one-page fallback
        return None
    return corpus


def load_items(corpus: str | Path | Iterable[dict[str, Any]] | None = None, *, sample: bool = True,
               pages: int = 0, blogposts: int = 0, seed: int = 0
               ) -> tuple[Iterable[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """(items, spaces, users) for a corpus file or items, a generated site, or the sample space."""
    module = _corpus_module()
    users: list[dict[str, Any]] = []
    if module is not None and Path(module.SAMPLE_USERS).exists():
        users = module.read_users(module.SAMPLE_USERS)
    if corpus is not None:
        if isinstance(corpus, (str, Path)):
            if module is None:
                raise FileNotFoundError("emulator.corpus is missing: cannot read a corpus file")
            return module.read_corpus(corpus), _sibling_spaces(module, Path(corpus)), users
        return list(corpus), [], users
    if pages or blogposts:
        if module is None:
            raise RuntimeError("emulator.corpus is missing: cannot generate pages")
        return module.generate(pages, blogposts, seed), module.generated_spaces(), users
    if sample and module is not None and Path(module.SAMPLE_CORPUS).exists():
        return module.read_corpus(module.SAMPLE_CORPUS), module.read_spaces(module.SAMPLE_SPACES), users
    return list(_FALLBACK_ITEMS), [{"key": "DEMO", "name": "Demo"}], users


def _sibling_spaces(module: Any, corpus: Path) -> list[dict[str, Any]]:
    """A corpus file's spaces: `spaces.jsonl` beside it, if there is one."""
    spaces_file = corpus.with_name("spaces.jsonl")
    return module.read_spaces(spaces_file) if spaces_file.exists() else []


def load_groups(corpus: str | Path | Iterable[dict[str, Any]] | None = None, *, sample: bool = True,
                pages: int = 0, blogposts: int = 0) -> list[dict[str, Any]]:
    """The groups (`{"name", "members"}`) of a corpus file (`groups.jsonl` beside it) or of the
    sample space; none for items given in Python or a generated site."""
    module = _corpus_module()
    if module is None:
        return []
    if isinstance(corpus, (str, Path)):
        path = Path(corpus).with_name("groups.jsonl")
    elif corpus is None and not (pages or blogposts) and sample:
        path = Path(module.SAMPLE_GROUPS)
    else:
        return []
    return module.read_groups(path) if path.exists() else []


def build_store(corpus: str | Path | Iterable[dict[str, Any]] | None = None, *, sample: bool = True,
                pages: int = 0, blogposts: int = 0, seed: int = 0, email: str = DEFAULT_EMAIL,
                spaces: Iterable[dict[str, Any]] | None = None, users: Iterable[dict[str, Any]] | None = None,
                groups: Iterable[dict[str, Any]] | None = None) -> Store:
    """The emulator's site. `spaces`, `users`, `groups` (when given) replace what the corpus brings:
    spaces may carry "permissions", groups are `{"name", "members"}` (see emulator/corpus.py)."""
    items, found_spaces, found_users = load_items(corpus, sample=sample, pages=pages, blogposts=blogposts,
                                                  seed=seed)
    found_groups = load_groups(corpus, sample=sample, pages=pages, blogposts=blogposts)
    store = Store.build(items, found_spaces if spaces is None else spaces,
                        found_users if users is None else users,
                        groups=found_groups if groups is None else groups)
    if not any(u.email == email for u in store.users.values()):
        store.add_user(DEFAULT_ACCOUNT, "KB Emulator", email)
    return store


def start_emulator(corpus: str | Path | Iterable[dict[str, Any]] | None = None, *, sample: bool = True,
                   pages: int = 0, blogposts: int = 0, seed: int = 0, http: bool = False, port: int = 0,
                   email: str = DEFAULT_EMAIL, token: str | None = None,
                   spaces: Iterable[dict[str, Any]] | None = None,
                   users: Iterable[dict[str, Any]] | None = None,
                   groups: Iterable[dict[str, Any]] | None = None, datacenter: bool = False,
                   context_path: str = "", timezone: str = "UTC") -> EmulatorHandle:
    """Start an emulator on a background thread; call `.stop()` on the handle when done.
    `datacenter=True` serves Confluence Data Center's REST (see emulator/datacenter.py) under
    `context_path`, with the token as a bearer personal access token (44 characters, like Data
    Center's) and CQL dates read in `timezone`."""
    store = build_store(corpus, sample=sample, pages=pages, blogposts=blogposts, seed=seed, email=email,
                        spaces=spaces, users=users, groups=groups)
    if token is None:
        token = (base64.b64encode(secrets.token_bytes(33)).decode() if datacenter
                 else secrets.token_urlsafe(18))
    server = EmulatorServer(store, email=email, token=token, http=http, port=port, datacenter=datacenter,
                            context_path=context_path, timezone=timezone)
    return EmulatorHandle(server.start())


@contextmanager
def running_emulator(corpus: str | Path | Iterable[dict[str, Any]] | None = None, *, sample: bool = True,
                     pages: int = 0, blogposts: int = 0, seed: int = 0, http: bool = False,
                     port: int = 0, email: str = DEFAULT_EMAIL, token: str | None = None,
                     spaces: Iterable[dict[str, Any]] | None = None,
                     users: Iterable[dict[str, Any]] | None = None,
                     groups: Iterable[dict[str, Any]] | None = None, datacenter: bool = False,
                     context_path: str = "", timezone: str = "UTC") -> Iterator[EmulatorHandle]:
    """The emulator on 127.0.0.1 for the duration of the block (stopped even on errors).
    `spaces=`, `users=`, `groups=` replace the corpus's own (see `build_store`)."""
    handle = start_emulator(corpus, sample=sample, pages=pages, blogposts=blogposts, seed=seed,
                            http=http, port=port, email=email, token=token, spaces=spaces, users=users,
                            groups=groups, datacenter=datacenter, context_path=context_path,
                            timezone=timezone)
    try:
        yield handle
    finally:
        handle.stop()
