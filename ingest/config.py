"""Settings: one object, loaded once at the edge and passed down.

Precedence: init kwargs > environment (`KB_<SECTION>__<KEY>`) > config.toml > defaults.
The file is `--config PATH`, else `$KB_CONFIG`, else `./config.toml` when it exists.
Secrets (the Confluence API token, server API keys, an LLM key) come from the environment only,
are `SecretStr`, and are never logged.
"""

from __future__ import annotations

import difflib
import json
import logging
import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from ingest.durations import Duration, parse_duration
from ingest.errors import ConfigError
from ingest.settings_checks import HOST, check_pem, context_path

SECRET_KEYS = {("confluence", "api_token"), ("confluence", "pat"), ("confluence", "password"),
               ("server", "api_keys"), ("llm", "api_key")}
CLOUD_CONTEXT = "/wiki"


def _split_list(value: Any) -> Any:
    """Accept `a,b` (env) as well as a TOML or JSON list."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


class ConfluenceSettings(BaseModel):
    deployment: Literal["cloud", "datacenter"] = "cloud"
    domain_name: str = ""
    # The site's context path: Cloud's is /wiki; a Data Center site's is "" or e.g. "/confluence".
    # None: the deployment's default.
    context_path: str | None = None
    email: str = ""
    api_token: SecretStr = SecretStr("")
    pat: SecretStr = SecretStr("")  # a Data Center personal access token (bearer)
    username: str = ""  # Server / Data Center basic auth, with KB_CONFLUENCE__PASSWORD
    password: SecretStr = SecretStr("")
    spaces: Annotated[list[str], NoDecode] = Field(default_factory=list)
    ca_bundle: str = ""
    scheme: Literal["https", "http"] = "https"

    _split = field_validator("spaces", mode="before")(classmethod(lambda cls, v: _split_list(v)))

    @model_validator(mode="after")
    def _bare_host(self) -> ConfluenceSettings:
        """domain_name is a bare host[:port]: a URL is cut to its host (with a warning) when its scheme
        agrees with `scheme`, else refused with the fix."""
        raw = self.domain_name.strip()
        if "://" in raw or "/" in raw:
            parts = urlsplit(raw if "://" in raw else f"//{raw}")
            path = parts.path.rstrip("/")
            if self.deployment == "datacenter" and path and self.context_path is None:
                self.context_path = path  # a Data Center URL's path is its context path
            if parts.scheme and parts.scheme != self.scheme:
                raise ValueError(f"domain_name {raw!r} says {parts.scheme}:// but scheme is {self.scheme!r}: "
                                 f"set domain_name = {parts.netloc!r} and scheme = {parts.scheme!r}")
            if not parts.netloc:
                raise ValueError(f"domain_name {raw!r} is not a host[:port]; e.g. 'example.atlassian.net'")
            logging.getLogger("kb.config").warning(
                "confluence.domain_name %r is a URL: using the host %r (set domain_name to it)",
                raw, parts.netloc)
            raw = parts.netloc
        if raw and not HOST.fullmatch(raw):
            raise ValueError(f"domain_name {raw!r} is not a host[:port]; e.g. 'example.atlassian.net'")
        self.domain_name = raw
        self.context_path = context_path(self.context_path)
        if self.ca_bundle:
            check_pem(self.ca_bundle)
        return self

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.domain_name}"

    @property
    def context(self) -> str:
        """The context path in use: set, else /wiki on Cloud and none on Data Center."""
        if self.context_path is not None:
            return self.context_path
        return CLOUD_CONTEXT if self.deployment == "cloud" else ""

    @property
    def site_url(self) -> str:
        """The site's base: scheme, host and context path (REST lives under it at /rest/api)."""
        return self.base_url + self.context


class DataSettings(BaseModel):
    dir: Path = Path(".kb")


class PullSettings(BaseModel):
    source: Literal["manifest", "stock"] = "manifest"
    start_date: str = "2000-01-01T00:00:00Z"
    page_size: int = Field(default=50, ge=1, le=250)
    lookback_minutes: int = Field(default=2, ge=1)
    cql_timezone: str = "UTC"
    sweep_every: int = Field(default=0, ge=0)  # also sweep every space each Nth pull (ingest/pull/gate.py)
    full_sweep_every: str = "24h"
    max_delete_fraction: float = Field(default=0.2, ge=0.0, le=1.0)
    max_retries: int = Field(default=5, ge=0)
    max_retry_after: float = Field(default=60.0, ge=0.0)
    backoff_factor: float = Field(default=1.0, gt=0.0)
    sweep_page_size: int = Field(default=250, ge=1, le=1000)
    timeout_seconds: float = Field(default=60.0, gt=0)
    give_up_after_seconds: float = Field(default=300.0, ge=0.0)  # no good answer this long: stop (0: never)
    cache_memory_mb: int = Field(default=256, ge=64)  # DuckDB's cap while loading a read

    _duration = field_validator("full_sweep_every")(classmethod(lambda cls, v: (parse_duration(v), v)[1]))


class ContentSettings(BaseModel):
    """What beyond page bodies is pulled and indexed (comments; see README "Beyond the page body")."""

    comments: bool = True  # footer and inline comments, each a section of its page
    attachments: bool = True  # PDF, DOCX, PPTX, XLSX, CSV, text, Markdown, HTML: each its own document
    attachment_max_bytes: int = Field(default=20_000_000, ge=1)  # larger files are skipped (reported)
    attachment_max_chars: int = Field(default=200_000, ge=1)  # extracted text is cut here
    # Macros whose output storage hides: their rendered output (body.export_view) is kept instead.
    render_macros: list[str] = Field(default_factory=lambda: [
        "jira", "jiraissues", "excerpt-include", "include", "children", "detailssummary"])


class ChunkSettings(BaseModel):
    chunk_tokens: int = Field(default=320, ge=32)
    overlap_tokens: int = Field(default=32, ge=0)
    min_section_tokens: int = Field(default=48, ge=0)
    max_page_tokens: int = Field(default=50_000, ge=1)  # a page is indexed up to this many tokens
    max_chunks_per_page: int = Field(default=200, ge=1)


class EmbedSettings(BaseModel):
    model: str = "all-MiniLM-L6-v2"
    batch_size: int = Field(default=32, ge=1)
    device: str = "cpu"
    threads: int = Field(default=0, ge=0)  # torch CPU threads; 0 = torch's default (one per core)
    query_threads: int = Field(default=1, ge=0)  # torch threads for one query's embedding; 0 = as threads
    # "auto" | "torch" | "torch-bf16" | "openvino" | "onnx": see ingest.index.backends
    backend: Literal["auto", "torch", "torch-bf16", "openvino", "onnx"] = "auto"


class ChromaSettings(BaseModel):
    host: str = ""
    port: int = 8000
    collection: str = "confluence_kb"
    # The HNSW graph (recorded in the collection gate; a change needs `kb reindex`). Measured: dense
    # recall@50 0.995 of an exact search at 100k random vectors with 32/200/4000 (bench/query.py).
    hnsw_m: int = Field(default=32, ge=4, le=128)
    hnsw_ef_construction: int = Field(default=200, ge=10)
    hnsw_ef_search: int = Field(default=4000, ge=10)
    exact_search_max: int = Field(default=150_000, ge=0)  # dense search scans exactly up to this many


class RetrievalSettings(BaseModel):
    k: int = Field(default=5, ge=1)
    candidates: int = Field(default=50, ge=1)
    per_page: int = Field(default=4, ge=1)
    mode: Literal["hybrid", "dense", "lexical"] = "hybrid"
    fusion: Literal["convex", "rrf"] = "convex"
    dense_share: float = Field(default=0.45, ge=0.0, le=1.0)  # convex: dense's share, lexical the rest
    code_dense_share: float = Field(default=0.2, ge=0.0, le=1.0)  # ... for a query with a code-like word
    rrf_k: int = Field(default=10, ge=1)
    dense_weight: float = Field(default=0.5, ge=0.0)
    lexical_weight: float = Field(default=1.0, ge=0.0)
    min_score: float = 0.25


class LLMSettings(BaseModel):
    provider: str = ""
    model: str = ""
    api_key: SecretStr = SecretStr("")
    max_context_tokens: int = 3000
    temperature: float = 0.0


class ServerSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8000
    api_keys: SecretStr = SecretStr("")
    rate_limit_per_minute: int = 120
    max_body_bytes: int = 65536
    max_question_chars: int = 2000
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    allowed_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)  # beyond the bound host
    docs: bool = False  # /openapi.json, behind the key

    _split = field_validator("cors_origins", "allowed_hosts", mode="before")(
        classmethod(lambda cls, v: _split_list(v)))

    @property
    def keys(self) -> list[str]:
        """The secrets of KB_SERVER__API_KEYS (each entry `KEY` or `KEY=ROLE`)."""
        return [k for k, _ in self.key_entries]

    @property
    def key_entries(self) -> list[tuple[str, str]]:
        """(key, role) per entry: role '' (sees what anonymous users see), `user:EMAIL_OR_ID` (a fixed
        principal), `backend` (may name the user per request) or `operator` (every page)."""
        out = []
        for entry in self.api_keys.get_secret_value().split(","):
            key, _, role = entry.strip().partition("=")
            if key.strip():
                out.append((key.strip(), role.strip()))
        return out


class SyncSettings(BaseModel):
    """`kb sync` / `kb serve --sync` (ingest/sync): the poll period, and how far failures back off."""

    every: Duration = Field(default=60.0, gt=0)  # "60s", "5m", "24h" or seconds
    max_backoff: Duration = Field(default=600.0, gt=0)  # failed polls wait every, 2x, 4x ... up to this


class _SecretFreeToml(TomlConfigSettingsSource):
    """config.toml, refusing secrets: they belong in the environment."""

    def __call__(self) -> dict[str, Any]:
        data = super().__call__()
        for section, key in SECRET_KEYS:
            if isinstance(data.get(section), dict) and key in data[section]:
                env = f"KB_{section.upper()}__{key.upper()}"
                raise ConfigError(
                    f"config file sets the secret [{section}] {key}",
                    f"remove it from the file and set {env} in the environment instead",
                )
        return data


class Settings(BaseSettings):
    """Every setting of confluence-kb, by section."""

    model_config = SettingsConfigDict(env_prefix="KB_", env_nested_delimiter="__", extra="ignore")
    toml_path: ClassVar[Path | None] = None

    confluence: ConfluenceSettings = Field(default_factory=ConfluenceSettings)
    data: DataSettings = Field(default_factory=DataSettings)
    pull: PullSettings = Field(default_factory=PullSettings)
    chunk: ChunkSettings = Field(default_factory=ChunkSettings)
    embed: EmbedSettings = Field(default_factory=EmbedSettings)
    chroma: ChromaSettings = Field(default_factory=ChromaSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    content: ContentSettings = Field(default_factory=ContentSettings)
    sync: SyncSettings = Field(default_factory=SyncSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = cls.toml_path
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if path is not None:
            sources.append(_SecretFreeToml(settings_cls, toml_file=path))
        return tuple(sources)

    @property
    def data_dir(self) -> Path:
        return self.data.dir.expanduser().resolve()


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """The config file to read: explicit, else $KB_CONFIG, else ./config.toml if present."""
    if explicit:
        path = Path(explicit)
    elif os.environ.get("KB_CONFIG"):
        path = Path(os.environ["KB_CONFIG"])
    else:
        path = Path("config.toml")
        return path if path.is_file() else None
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}", "pass an existing file to --config or KB_CONFIG")
    return path


def load_settings(config: str | os.PathLike[str] | None = None, **overrides: Any) -> Settings:
    """Load Settings from init kwargs, the environment and the config file, in that order."""
    path = config_path(config)
    if path is not None:
        try:
            tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}",
                              "fix the line it names") from exc
        check_known_keys(tomllib.loads(path.read_text(encoding="utf-8")), str(path))
    check_known_keys(_env_sections(), "the environment")
    bound = type("BoundSettings", (Settings,), {"toml_path": path})
    try:
        settings = bound(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(
            f"invalid setting {where}: {first['msg']}",
            f"fix it in {path or 'the environment'} or in KB_{where.upper().replace('.', '__')}",
        ) from exc
    check_data_dir(settings.data_dir)
    return settings


def _suggest(name: str, valid: list[str]) -> str:
    near = difflib.get_close_matches(name, valid, n=1, cutoff=0.6)
    return f"did you mean {near[0]!r}?" if near else f"valid: {', '.join(sorted(valid))}"


def check_known_keys(data: dict[str, Any], where: str) -> None:
    """Every section and key in `data` is a setting; else a ConfigError naming the nearest valid one."""
    sections = {name: info.annotation for name, info in Settings.model_fields.items()}
    for section, body in data.items():
        if section not in sections:
            raise ConfigError(f"unknown config section [{section}] in {where}",
                              _suggest(section, list(sections)))
        model = sections[section]
        if not isinstance(body, dict) or not isinstance(model, type) or not issubclass(model, BaseModel):
            continue
        keys = list(model.model_fields)
        for key in body:
            if key not in keys:
                raise ConfigError(f"unknown setting [{section}] {key} in {where}",
                                  f"{_suggest(key, keys)} (the [{section}] settings: {', '.join(keys)})")


def _env_sections() -> dict[str, dict[str, Any]]:
    """KB_<SECTION>__<KEY> variables as {section: {key: value}}, for the unknown-key check."""
    found: dict[str, dict[str, Any]] = {}
    for name, value in os.environ.items():
        if name.upper().startswith("KB_") and "__" in name:
            section, _, key = name[3:].lower().partition("__")
            found.setdefault(section, {})[key.split("__")[0]] = value
    return found


def check_data_dir(data_dir: Path) -> None:
    """A data dir that cannot be one (a file, or under a file) is one clear ConfigError."""
    for path in (data_dir, *data_dir.parents):
        if path.exists():
            if not path.is_dir():
                raise ConfigError(f"the data dir {data_dir} cannot be used: {path} is a file, not a dir",
                                  "set data.dir (KB_DATA__DIR) to a directory, or move the file away")
            if path != data_dir and not os.access(path, os.W_OK | os.X_OK):
                raise ConfigError(f"the data dir {data_dir} cannot be created: {path} is not writable",
                                  "set data.dir (KB_DATA__DIR) to a writable directory")
            return


def as_settings(settings: Settings | str | os.PathLike[str] | None) -> Settings:
    """Accept Settings, a config path or None (the default lookup) — for the Python API."""
    if isinstance(settings, Settings):
        return settings
    return load_settings(settings)
