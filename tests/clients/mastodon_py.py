"""Drives a running pengyou with Mastodon.py, a client library written
elsewhere, the way an app would: register an app, sign up, log in with the
password grant, post, read back, edit, and fail cleanly on bad input.

Usage: python mastodon_py.py http://127.0.0.1:PORT
"""
import struct
import sys
import urllib.request
import uuid
import zlib

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

# Two people meet: follow, post, comment, like, collect, and see it in feeds and notifications.
import time

friend_name = "pf" + uuid.uuid4().hex[:10]
friend = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=base, version_check_mode="created")
friend.create_account(friend_name, password, f"{friend_name}@example.org", agreement=True, locale="en",
                      scopes=["read", "write", "follow"])
friend_me = friend.account_verify_credentials()
relation = friend.account_follow(me.id)
check("account_follow follows", relation.following)
check("account_relationships agrees", friend.account_relationships(me.id)[0].following)
check("account_followers lists the follower", any(a.id == friend_me.id for a in api.account_followers(me.id)))

note = api.status_post("周末去爬山 #hiking", visibility="public")
home = []
for _ in range(50):
    home = friend.timeline_home()
    if any(s.id == note.id for s in home):
        break
    time.sleep(0.1)
check("the follower's home timeline gets the note (background fan-out)", any(s.id == note.id for s in home))

liked = friend.status_favourite(note.id)
check("status_favourite counts the like", liked.favourited and liked.favourites_count == 1)
collected = friend.status_bookmark(note.id)
check("status_bookmark collects", collected.bookmarked)
check("bookmarks lists it", any(s.id == note.id for s in friend.bookmarks()))
check("favourites lists it", any(s.id == note.id for s in friend.favourites()))
comment = friend.status_post("Which trail?", in_reply_to_id=note.id)
reply = api.status_post(f"@{friend_name} 香山", in_reply_to_id=comment.id)
context = friend.status_context(note.id)
check("status_context shows the comment and the reply",
      {s.id for s in context.descendants} >= {comment.id, reply.id})

kinds = set()
for _ in range(50):
    kinds = {n.type for n in api.notifications()}
    if {"follow", "favourite", "mention"} <= kinds:
        break
    time.sleep(0.1)
check("notifications hold the follow, the like and the comment", {"follow", "favourite", "mention"} <= kinds)
replied = False
for _ in range(50):
    replied = any(n.type == "mention" for n in friend.notifications())
    if replied:
        break
    time.sleep(0.1)
check("the commenter is notified of the reply (background job)", replied)
check("the note shows its comment count", api.status(note.id).replies_count == 2)

# Photos: a PNG made here (no imaging library needed), uploaded, described, posted, fetched.
def png(width, height):
    raw = b"".join(b"\x00" + b"".join(bytes((x * 7 % 256, y * 5 % 256, 90)) for x in range(width)) for y in range(height))
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))

media = api.media_post(png(640, 480), mime_type="image/png", description="a gradient", file_name="gradient.png")
check("media_post returns a finished attachment", media.type == "image" and media.url and media.meta.original.width == 640)
media = api.media_update(media.id, description="一张渐变图")
check("media_update changes the alt text", media.description == "一张渐变图")
photo_note = api.status_post("照片 #photo", media_ids=[media.id])
check("status_post attaches the photo", photo_note.media_attachments[0].id == media.id)
with urllib.request.urlopen(photo_note.media_attachments[0].url) as response:
    served = response.read()
check("the photo is served as WebP without metadata", served[:4] == b"RIFF" and b"Exif" not in served)
try:
    api.media_post(b"<svg xmlns='http://www.w3.org/2000/svg'/>", mime_type="image/png", file_name="x.png")
    check("an SVG upload is refused", False)
except Exception as error:  # noqa: BLE001
    check("an SVG upload is refused with 422", "422" in str(error.args))

passed = sum(1 for _, ok in checks if ok)
failed = len(checks) - passed
print(f"mastodon.py: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
