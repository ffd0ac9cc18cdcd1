"""EmulatorAdmin: the emulator's /__admin/ API in Python (httpx), usable from any process.

    admin = EmulatorAdmin("https://127.0.0.1:8443", ca_path="/tmp/.../ca.pem")
    admin.edit("10001", title="Renamed")          # version + 1, lastmodified = emulator's now
    admin.clock(advance_minutes=5)
    admin.faults("/wiki/rest/api/content*", "429", times=2, retry_after=0)
    admin.set_restrictions("10001", groups=["corvid-security"])   # no version bump, as in Cloud
    admin.set_space_permissions("HR", groups=["hr"], anonymous=False)
    admin.add_member("hr", "5f0c8e2a1b3d4c0069a1e009")
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

import httpx


class EmulatorAdminError(RuntimeError):
    """The admin API refused a call (unknown id, bad arguments)."""


class EmulatorAdmin:
    def __init__(self, url: str, *, ca_path: str | None = None, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self._client = httpx.Client(base_url=self.url + "/__admin", verify=ca_path or True,
                                    timeout=timeout, trust_env=False)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> EmulatorAdmin:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, json: Any = None) -> Any:
        response = self._client.request(method, path, json=json)
        if response.status_code >= 400:
            try:
                message = response.json().get("message", response.text)
            except ValueError:
                message = response.text
            raise EmulatorAdminError(f"{method} /__admin/{path}: {response.status_code} {message}")
        return response.json() if response.content else None

    # ---- content ----------------------------------------------------------------------------
    def create(self, item: dict[str, Any]) -> str:
        """Add a corpus item (id optional); returns its id."""
        return str(self._call("POST", "content", item)["id"])

    def edit(self, content_id: str, title: str | None = None, body: str | None = None,
             parent_id: str | None = None, labels: Iterable[str] | None = None,
             restrictions: dict[str, list[str]] | None = None, message: str = "") -> dict[str, Any]:
        """Change what is given; the version goes up by one and lastmodified becomes now."""
        payload = {"title": title, "body": body, "parent_id": parent_id,
                   "labels": list(labels) if labels is not None else None,
                   "restrictions": restrictions, "message": message}
        return self._call("PUT", f"content/{content_id}", payload)

    def get(self, content_id: str) -> dict[str, Any]:
        """The item as the emulator holds it, whatever its status."""
        return self._call("GET", f"content/{content_id}")

    def trash(self, content_id: str) -> dict[str, Any]:
        return self._call("POST", f"content/{content_id}/trash")

    def move(self, content_id: str, space: str, parent_id: str | None = None) -> dict[str, Any]:
        """Move a page (and its descendants) to `space`, under `parent_id`: no new version."""
        return self._call("POST", f"content/{content_id}/move", {"space": space, "parent_id": parent_id})

    def restore(self, content_id: str) -> dict[str, Any]:
        return self._call("POST", f"content/{content_id}/restore")

    def purge(self, content_id: str) -> None:
        self._call("DELETE", f"content/{content_id}")

    # ---- clock ------------------------------------------------------------------------------
    def clock(self, set: str | None = None, advance_minutes: float | None = None) -> str:
        """Set the clock to an ISO time and/or advance it; returns the emulator's now (ISO)."""
        return str(self._call("POST", "clock", {"set": set, "advance_minutes": advance_minutes})["now"])

    def now(self) -> str:
        return str(self._call("GET", "clock")["now"])

    # ---- faults -----------------------------------------------------------------------------
    def faults(self, path_pattern: str, kind: str | int, times: int | None = None,
               fraction: float | None = None, retry_after: int | None = None,
               delay: float | None = None, after: int = 0) -> dict[str, Any]:
        """Inject a fault on matching paths: 429, 500, 503, slow, truncate, reset (see faults.py);
        `after`: let that many matching requests through first."""
        return self._call("POST", "faults", {"path": path_pattern, "kind": str(kind), "times": times,
                                             "fraction": fraction, "retry_after": retry_after,
                                             "delay": delay, "after": after})

    def list_faults(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "faults")["faults"])

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    # ---- request log ------------------------------------------------------------------------
    def requests(self) -> list[dict[str, Any]]:
        """The request log: dicts of method, path, query (dict of lists), status, time, bytes."""
        return list(self._call("GET", "requests")["requests"])

    def clear_requests(self) -> None:
        self._call("DELETE", "requests")

    # ---- access (none of these bumps a page's version or lastmodified) ------------------------
    def set_restrictions(self, content_id: str, users: Iterable[str] = (),
                         groups: Iterable[str] = ()) -> dict[str, Any]:
        """Replace the page's own read restriction; both empty: unrestricted."""
        return self._call("PUT", f"content/{content_id}/restrictions",
                          {"users": list(users), "groups": list(groups)})

    def restrictions(self, content_id: str) -> dict[str, Any]:
        return self._call("GET", f"content/{content_id}/restrictions")

    def set_space_permissions(self, key: str, users: Iterable[str] = (), groups: Iterable[str] = (),
                              anonymous: bool = False) -> dict[str, Any]:
        """Replace who may view the space (read/space)."""
        return self._call("PUT", f"space/{quote(key, safe='')}/permissions",
                          {"users": list(users), "groups": list(groups), "anonymous": anonymous})

    def space_permissions(self, key: str) -> dict[str, Any]:
        """{"key", "users", "groups", "anonymous", "explicit"}: the permission in force."""
        return self._call("GET", f"space/{quote(key, safe='')}/permissions")

    def set_members(self, group: str, members: Iterable[str]) -> list[str]:
        """Set a group's members (creates the group if new); returns them."""
        return list(self._call("PUT", f"group/{quote(group, safe='')}/members",
                               {"members": list(members)})["members"])

    def add_member(self, group: str, account_id: str) -> list[str]:
        return list(self._call("POST", f"group/{quote(group, safe='')}/members/"
                                       f"{quote(account_id, safe='')}")["members"])

    def remove_member(self, group: str, account_id: str) -> list[str]:
        return list(self._call("DELETE", f"group/{quote(group, safe='')}/members/"
                                         f"{quote(account_id, safe='')}")["members"])

    def members(self, group: str) -> list[str]:
        return list(self._call("GET", f"group/{quote(group, safe='')}/members")["members"])

    def add_user(self, account_id: str, display_name: str, email: str = "") -> dict[str, Any]:
        return self._call("POST", "users", {"accountId": account_id, "displayName": display_name,
                                            "email": email})

    def users(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "users")["users"])
