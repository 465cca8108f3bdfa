"""Drives a running pengyou with Mastodon.py, a client library written
elsewhere, the way an app would: register an app, sign up, log in with the
password grant, post, read back, edit, and fail cleanly on bad input.

Usage: python mastodon_py.py http://127.0.0.1:PORT
"""
import sys
import uuid

from mastodon import Mastodon, MastodonAPIError

base = sys.argv[1]
checks = []


def check(name, condition):
    checks.append((name, bool(condition)))
    print(("ok   " if condition else "FAIL ") + name, flush=True)


client_id, client_secret = Mastodon.create_app(
    "pengyou-ci", scopes=["read", "write", "follow"], api_base_url=base
)
check("create_app returns credentials", client_id and client_secret)

api = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=base, version_check_mode="created")
check("version detected as Mastodon >= 3.1.4", api.verify_minimum_version("3.1.4", cached=True))

username = "py" + uuid.uuid4().hex[:10]
password = "correct horse battery staple " + uuid.uuid4().hex[:6]
token = api.create_account(username, password, f"{username}@example.org", agreement=True, locale="zh",
                           scopes=["read", "write", "follow"])
check("create_account returns a token", token)

api = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=base, version_check_mode="created")
token = api.log_in(f"{username}@example.org", password, scopes=["read", "write", "follow"], allow_http=True)
check("password login returns a token", token)

me = api.account_verify_credentials()
check("verify_credentials names the account", me.username == username)

status = api.status_post("我家的猫 #猫咪 #cat 🐱", visibility="public", language="zh")
check("status_post returns the note", status.id and "猫咪" in [t.name for t in status.tags])
check("content is rendered HTML", "<a href=" in status.content and "hashtag" in status.content)

again = api.status(status.id)
check("status reads back", again.id == status.id and again.content == status.content)

timeline = api.account_statuses(me.id)
check("account_statuses lists it", any(s.id == status.id for s in timeline))

edited = api.status_update(status.id, "我家的猫 #猫咪，很可爱")
check("status_update edits", edited.edited_at is not None and "很可爱" in edited.content)
history = api.status_history(status.id)
check("history holds both versions", len(history) == 2)

try:
    api.status_post("x" * 2001)
    check("an over-long note is refused", False)
except MastodonAPIError as error:
    check("an over-long note is refused with 422", "422" in str(error.args) or getattr(error, "args", [None, 0])[1] == 422)

try:
    api.status(999)
    check("an unknown note is 404", False)
except MastodonAPIError as error:
    check("an unknown note is 404", error.args[1] == 404)

deleted = api.status_delete(status.id)
check("delete returns the source text", deleted.get("text", "").startswith("我家的猫"))

instance = api.instance()
check("instance reports limits", instance.configuration.statuses.max_characters == 2000)

passed = sum(1 for _, ok in checks if ok)
failed = len(checks) - passed
print(f"mastodon.py: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
