"""The CDK's messages handed to PyAirbyte as objects, not as JSON text parsed back.

PyAirbyte runs a declarative manifest in-process, yet it reads it as it reads a connector in a
subprocess: the CDK's entrypoint serialises every message to a JSON line (`airbyte_message_to_string`)
and PyAirbyte parses each line back into its own pydantic model (`ConnectorBase._execute`). A content
record is a page with its body, 14 KB on average, so a first pull of 5,000 pages paid that round trip
on 73 MB, in the thread that also applies the pages.

`direct_messages(source)` replaces `_execute` on that one Source object (PyAirbyte's Source is kept
per process, `source.open_source`) for the `read` command only: it runs the CDK entrypoint's read as
`AirbyteEntrypoint.run` does (the request-cache folder, the config, the queued messages before and
after) and turns each message into PyAirbyte's model:
- a RECORD by `model_construct` around the CDK's own `data` dict (the dict the CDK built from the
  response; nothing else holds it);
- any other message (state, trace, log, control: a few per stream) by the same JSON round trip as
  before, so errors and stream statuses read exactly as PyAirbyte reads them.
Each message goes through `source._peek_airbyte_message` as before, and one whose peek raises (a
stream's TRACE error) is logged and skipped as before: the read goes on and the CDK raises at its end.
What it leaves out: PyAirbyte's "MB read" progress figure (it measured the JSON lines); our own
`RequestMeter` counts the response bytes. `spec`, `check` and `discover` run PyAirbyte's own way.

It reads private names of PyAirbyte's Source and executor and of the CDK's entrypoint, so it is used
only on the versions it was checked on (`patches.TESTED`); elsewhere PyAirbyte's own `_execute` runs.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

from ingest.pull._airbyte import patches

_SOURCE_NEEDS = ("_execute", "_peek_airbyte_message", "_print_info_message")
_EXECUTOR_NEEDS = ("_build_declarative_source", "_config_from_args", "map_cli_args")
_ENTRYPOINT_NEEDS = ("parse_args", "read", "_emit_queued_messages", "airbyte_message_to_string")


def direct_messages(source: Any) -> bool:
    """Install the direct `_execute` on `source` where it fits; True when installed."""
    executor = getattr(source, "executor", None)
    if not all(callable(getattr(source, n, None)) for n in _SOURCE_NEEDS):
        return False
    if not (patches.fits("airbyte", "records handed over as objects",
                         lambda: all(callable(getattr(executor, n, None)) for n in _EXECUTOR_NEEDS))
            and patches.fits("airbyte-cdk", "records handed over as objects", _entrypoint_fits)):
        return False
    source._execute = _direct_execute(source, source._execute)
    return True


def _entrypoint_fits() -> bool:
    from airbyte_cdk.entrypoint import AirbyteEntrypoint

    return all(callable(getattr(AirbyteEntrypoint, n, None)) for n in _ENTRYPOINT_NEEDS)


def _direct_execute(source: Any, original: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
    from airbyte_cdk.entrypoint import AirbyteEntrypoint
    from airbyte_cdk.utils.constants import ENV_REQUEST_CACHE_PATH
    from airbyte_protocol.models import AirbyteMessage, AirbyteRecordMessage, Type

    to_string, parse = AirbyteEntrypoint.airbyte_message_to_string, AirbyteMessage.model_validate_json

    def handed(messages: Any) -> Iterator[Any]:
        """PyAirbyte's models of `messages`, each peeked as `ConnectorBase._execute` peeks it: a
        message whose peek raises (a stream's TRACE error) is logged, not yielded, and the read
        goes on, so the other streams' records still arrive; the CDK raises at the read's end."""
        for message in messages:
            record = message.record
            if record is not None and getattr(message.type, "value", message.type) == "RECORD":
                data = AirbyteRecordMessage.model_construct(stream=record.stream, data=record.data,
                                                            emitted_at=record.emitted_at,
                                                            namespace=record.namespace)
                converted = AirbyteMessage.model_construct(type=Type.RECORD, record=data)
            else:
                converted = parse(json_data=to_string(message))
            try:
                source._peek_airbyte_message(converted)
            except Exception:  # as PyAirbyte's own loop does (it logs the line and goes on)
                source._print_info_message(to_string(message))
                continue
            yield converted

    def execute(args: list[str], stdin: Any = None, *, progress_tracker: Any = None) -> Iterator[Any]:
        if not args or args[0] != "read":
            yield from original(args, stdin, progress_tracker=progress_tracker)
            return
        executor = source.executor
        entry = AirbyteEntrypoint(executor._build_declarative_source(executor._config_from_args(args)))
        parsed = entry.parse_args(executor.map_cli_args(args))
        spec = entry.source.spec(entry.logger)
        try:  # AirbyteEntrypoint.run's read branch, without the JSON lines
            with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as temp_dir:
                os.environ[ENV_REQUEST_CACHE_PATH] = temp_dir
                config = entry.source.configure(entry.source.read_config(parsed.config), temp_dir)
                yield from handed(list(entry._emit_queued_messages(entry.source)))
                catalog = entry.source.read_catalog(parsed.catalog)
                state = entry.source.read_state(parsed.state)
                yield from handed(entry.read(spec, config, catalog, state))
        finally:
            yield from handed(list(entry._emit_queued_messages(entry.source)))

    return execute
