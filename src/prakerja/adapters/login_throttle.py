"""A budget of attempts per time window on one item (the sign-in throttle), reserved with
conditional updates only."""

from __future__ import annotations

from prakerja.adapters.dynamo_codec import Item, from_item
from prakerja.adapters.table import Table


def reserve_in_window(
    table: Table, item_key: Item, now: int, window_s: int, max_attempts: int, *, must_exist: bool
) -> tuple[bool, Item | None, int] | None:
    """Reserve one attempt of a budget of `max_attempts` per window (attributes `login_attempts`,
    `login_window` = the window's start) with conditional updates only, so concurrent callers
    never share an attempt. (allowed, item after the reservation, seconds until the window ends),
    or None when `must_exist` and the item is absent."""
    exists = "attribute_exists(pk) AND " if must_exist else ""
    for _ in range(4):
        # A new window when there is none or it has ended (the common case: a success releases).
        done, item = table.update_returning(
            item_key,
            "SET login_attempts = :one, login_window = :now" + ("" if must_exist else ", expires_at = :exp"),
            exists + "(attribute_not_exists(login_window) OR login_window <= :cutoff)",
            {":one": 1, ":now": now, ":cutoff": now - window_s, **({} if must_exist else {":exp": now + window_s})},
        )
        if done:
            return True, item, 0
        if item is None:
            if must_exist:
                return None
            continue
        window = int(from_item(item).get("login_window", 0))
        # The window is live: one more attempt in it, if any is left.
        done, item = table.update_returning(
            item_key,
            "ADD login_attempts :one",
            "login_window = :w AND login_attempts < :max",
            {":one": 1, ":w": window, ":max": max_attempts},
        )
        if done:
            return True, item, 0
        if item is None:
            if must_exist:
                return None
            continue
        state = from_item(item)
        if int(state.get("login_window", 0)) == window and int(state.get("login_attempts", 0)) >= max_attempts:
            return False, item, max(1, window + window_s - now)
        # The window changed between the two writes (released or restarted): decide again.
    return False, None, 1
