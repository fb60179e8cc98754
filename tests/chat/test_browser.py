"""The chat page in a real browser: Debian's Chromium driven by Playwright, next to Python clients.

Each page gets its own browser context (its own cookies and storage), as two people would.
Waiting is Playwright's: `expect()` retries an assertion until it holds or times out. Absence
is proven positively: after the thing that must not appear, a later probe message is awaited,
and only then is the absence checked.

If Chromium cannot start, the tests fail (they do not skip): the page is part of the course.
"""

from __future__ import annotations

import os
import re

import pytest
from helpers import wait_until
from playwright.sync_api import Browser, Page, expect, sync_playwright
from test_chat_server import Member

from wslab.chat import ChatServer, chat_server

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",  # we run as root in CI containers
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
XSS = ["<img src=x onerror=alert(1)>", "<script>window.pwned=1</script>"]


class Chromium:
    """Starts the browser on first use, so that a failure to start fails the test using it."""

    def __init__(self) -> None:
        self._playwright = None
        self._browser: Browser | None = None

    def browser(self) -> Browser:
        if self._browser is None:
            if not os.path.exists(CHROMIUM):
                pytest.fail(f"no browser at {CHROMIUM}: install Debian's chromium (make test does)")
            try:
                self._playwright = sync_playwright().start()
                self._browser = self._playwright.chromium.launch(
                    executable_path=CHROMIUM, args=ARGS, headless=True
                )
            except Exception as exc:
                self.close()
                pytest.fail(f"Chromium at {CHROMIUM} did not start under Playwright: {exc}")
        return self._browser

    def close(self) -> None:
        if self._browser is not None:
            self._browser.close()
        if self._playwright is not None:
            self._playwright.stop()
        self._browser = self._playwright = None


@pytest.fixture(scope="module")
def chromium():
    launcher = Chromium()
    yield launcher
    launcher.close()


class Pages:
    """Opens chat pages, records what must never happen in them, closes them at the end."""

    def __init__(self, chromium: Chromium, server: ChatServer) -> None:
        self.chromium = chromium
        self.server = server
        self.contexts = []
        self.dialogs: list[str] = []
        self.errors: list[str] = []

    def open(self, nick: str, room: str = "lobby") -> Page:
        """A new page (own context) that joined as `nick`."""
        context = self.chromium.browser().new_context(viewport={"width": 900, "height": 640})
        self.contexts.append(context)
        page = context.new_page()
        page.on("dialog", self._dialog)
        page.on("pageerror", lambda error: self.errors.append(f"{nick}: {error}"))
        page.on(
            "console",
            lambda m: m.type == "error" and self.errors.append(f"{nick}: console: {m.text}"),
        )
        page.goto(self.server.page_url)
        page.get_by_test_id("nick-input").fill(nick)
        page.get_by_test_id("join-room-input").fill(room)
        page.get_by_test_id("join-button").click()
        expect(page.get_by_test_id("status")).to_have_text("online")
        expect(page.get_by_test_id("me")).to_have_text(nick)
        return page

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def server():
    return chat_server("chat-browser")


@pytest.fixture
def pages(chromium, server):
    pages = Pages(chromium, server)
    try:
        yield pages
        assert pages.dialogs == [], "a dialog opened: some text ran as code"
        assert pages.errors == [], "errors in the page"
    finally:
        pages.close()


def say(page: Page, text: str) -> None:
    """Type `text` into the page and send it with Enter."""
    box = page.get_by_test_id("message-input")
    box.fill(text)
    box.press("Enter")
    expect(box).to_have_value("")


def texts(page: Page, kind: str = "message"):
    """The texts of the page's room messages (or "private" messages), in order."""
    return page.locator(f"[data-testid={kind}] .text")


def notices(page: Page):
    return page.get_by_test_id("notice")


def online(page: Page):
    return page.get_by_test_id("online-user")


def python_member(server: ChatServer, nick: str) -> Member:
    member = Member(server)
    member.join(nick)
    return member


def speak(member: Member, text: str) -> int:
    """A Python member says `text`; returns its id (notices before the ack are skipped)."""
    member.send(type="say", text=text)
    return next_of(member, "ack")["id"]


def next_of(member: Member, kind: str) -> dict:
    """The next message of type `kind`, skipping notices and typing; fails after the timeout.

    Anything else first (a message, a private message, an ack) fails the test: that is how
    the tests prove what a Python member did not get.
    """
    while True:
        message = member.recv()
        if message["type"] == kind:
            return message
        assert message["type"] in ("presence_changed", "presence", "typing"), message


def test_two_pages_and_a_python_client_talk_in_all_directions(pages, server):
    """Each of alice (page), bob (page) and carol (Python) sees the others' messages."""
    alice = pages.open("alice")
    bob = pages.open("bob")
    expect(notices(alice)).to_have_text(["You joined #lobby as alice", "bob joined"])
    carol = python_member(server, "carol")
    for page in (alice, bob):
        expect(notices(page).last).to_have_text("carol joined")
        expect(online(page)).to_have_text(
            ["alice" + " (you)" * (page is alice), "bob" + " (you)" * (page is bob), "carol"]
        )

    say(alice, "hello from alice")
    expect(texts(bob)).to_have_text(["hello from alice"])
    assert next_of(carol, "message")["text"] == "hello from alice"
    speak(carol, "hello from carol")
    say(bob, "hello from bob")
    expect(texts(alice)).to_have_text(["hello from alice", "hello from carol", "hello from bob"])
    expect(texts(bob)).to_have_text(["hello from alice", "hello from carol", "hello from bob"])
    assert next_of(carol, "message")["text"] == "hello from bob"
    # One's own messages show once, as "you", and were acknowledged (they have an id).
    mine = alice.locator("[data-testid=message].mine")
    expect(mine).to_have_count(1)
    expect(mine).to_have_attribute("data-id", re.compile(r"^\d+$"))

    carol.close()
    for page in (alice, bob):
        expect(notices(page).last).to_have_text("carol left")
        expect(online(page)).to_have_count(2)


def test_typing_indicator_shows_only_to_the_others(pages, server):
    """bob typing shows on alice's page and reaches carol; bob's own page never says so."""
    alice = pages.open("alice")
    bob = pages.open("bob")
    carol = python_member(server, "carol")
    bob.get_by_test_id("message-input").press_sequentially("hel")
    expect(alice.get_by_test_id("typing")).to_have_text("bob is typing…")
    assert next_of(carol, "typing") == {"type": "typing", "nick": "bob", "typing": True}

    carol.send(type="typing", typing=True)
    expect(alice.get_by_test_id("typing")).to_have_text(re.compile("bob and carol are typing"))
    expect(bob.get_by_test_id("typing")).to_have_text("carol is typing…")  # not bob himself

    bob.get_by_test_id("message-input").press_sequentially("lo")
    bob.get_by_test_id("message-input").press("Enter")  # sending ends bob's typing
    expect(texts(alice)).to_have_text(["hello"])
    expect(alice.get_by_test_id("typing")).to_have_text("carol is typing…")
    assert next_of(carol, "message")["text"] == "hello"
    speak(carol, "done")  # ends carol's typing too
    expect(texts(alice)).to_have_text(["hello", "done"])
    expect(alice.get_by_test_id("typing")).to_have_text("")
    expect(bob.get_by_test_id("typing")).to_have_text("")


def test_private_messages_reach_only_their_target(pages, server):
    """A whisper shows, marked private, at its target only: not in other pages, not in Python."""
    alice = pages.open("alice")
    bob = pages.open("bob")
    carol = python_member(server, "carol")

    online(alice).filter(has_text="bob").click()
    expect(alice.get_by_test_id("whisper-target")).to_contain_text("whisper to bob")
    say(alice, "psst bob")
    expect(texts(bob, "private")).to_have_text(["psst bob"])
    expect(bob.locator("[data-testid=private] .tag")).to_have_text(["private"])
    expect(bob.locator("[data-testid=private] .from")).to_have_text(["alice"])
    expect(alice.locator("[data-testid=private] .tag")).to_have_text(["private to bob"])

    carol.send(type="whisper", to="alice", text="psst alice")
    assert next_of(carol, "ack")["ref"] is None
    expect(texts(alice, "private")).to_have_text(["psst bob", "psst alice"])

    # Probes: a room message after the whispers reaches everyone, then check absences.
    alice.get_by_test_id("whisper-cancel").click()
    say(alice, "probe")
    expect(texts(bob)).to_have_text(["probe"])
    assert next_of(carol, "message")["text"] == "probe"  # carol got no private before it
    expect(texts(bob, "private")).to_have_text(["psst bob"])  # not carol's whisper to alice
    expect(bob.get_by_test_id("log")).not_to_contain_text("psst alice")


def test_markup_in_messages_shows_as_text_and_never_runs(pages, server):
    """HTML in texts from Python and from a page is displayed literally and executes nothing."""
    alice = pages.open("alice")
    bob = pages.open("bob")
    carol = python_member(server, "carol")
    for text in XSS:
        speak(carol, text)
    carol.send(type="whisper", to="alice", text=XSS[0])
    next_of(carol, "ack")
    say(bob, XSS[1])
    expect(texts(alice)).to_have_text([*XSS, XSS[1]])
    expect(texts(alice, "private")).to_have_text([XSS[0]])
    expect(texts(bob)).to_have_text([*XSS, XSS[1]])
    for page in (alice, bob):
        assert page.locator("[data-testid=log] img, [data-testid=log] script").count() == 0
        assert page.evaluate("typeof window.pwned") == "undefined"
    assert pages.dialogs == []


def test_nick_taken_is_shown_and_the_form_comes_back(pages, server):
    """Joining with a nick in use shows the server's error and asks again."""
    pages.open("alice")
    context = pages.chromium.browser().new_context()
    pages.contexts.append(context)
    page = context.new_page()
    page.goto(server.page_url)
    page.get_by_test_id("nick-input").fill("alice")
    page.get_by_test_id("join-button").click()
    expect(page.get_by_test_id("error")).to_contain_text("nick_taken")
    expect(page.get_by_test_id("join-form")).to_be_visible()
    expect(page.get_by_test_id("status")).to_have_text("offline")
    page.get_by_test_id("nick-input").fill("alice2")
    page.get_by_test_id("join-button").click()
    expect(page.get_by_test_id("status")).to_have_text("online")
    expect(page.get_by_test_id("error")).to_be_hidden()


def test_a_refused_message_is_shown_as_not_delivered(pages):
    """A text over the server's max_text: the page shows the error and marks it undelivered."""
    pages.server = chat_server("chat-browser", max_text=10)
    alice = pages.open("alice")
    say(alice, "far too long for this server")
    expect(alice.get_by_test_id("error")).to_contain_text("too_long")
    expect(alice.locator("[data-testid=message].failed .text")).to_have_text(
        ["far too long for this server"]
    )
    say(alice, "short")
    expect(alice.locator("[data-testid=message].mine:not(.failed)")).to_have_count(1)


def test_switching_rooms(pages, server):
    """A page that moves to another room leaves the old one and hears only the new one."""
    alice = pages.open("alice")
    bob = pages.open("bob")
    carol = pages.open("carol", room="kitchen")
    say(carol, "kitchen talk")
    alice.get_by_test_id("room-input").fill("kitchen")
    alice.get_by_test_id("room-button").click()
    expect(alice.get_by_test_id("current-room")).to_have_text("#kitchen")
    expect(texts(alice)).to_have_text(["kitchen talk"])  # the kitchen's history
    expect(notices(bob).last).to_have_text("alice left")
    expect(notices(carol).last).to_have_text("alice joined")
    say(bob, "lobby only")
    say(carol, "probe")
    expect(texts(alice)).to_have_text(["kitchen talk", "probe"])
    expect(alice.get_by_test_id("log")).not_to_contain_text("lobby only")


def test_a_page_that_was_away_recovers_what_it_missed(pages, server):
    """Away and back in the same tab: the missed messages appear once, in order, after the old.

    The page's socket really closes (the tab goes to about:blank) and the server sees alice
    leave before carol says anything; back on the chat, the page rejoins from sessionStorage
    with its last id. A reload afterwards duplicates nothing.
    """
    alice = pages.open("alice")
    carol = python_member(server, "carol")
    speak(carol, "before 1")
    speak(carol, "before 2")
    expect(texts(alice)).to_have_text(["before 1", "before 2"])

    alice.goto("about:blank")
    wait_until(lambda: server.members() == ["carol"])
    missed = ["missed 1", "missed 2", "missed 3"]
    for text in missed:
        speak(carol, text)
    alice.goto(server.page_url)
    expect(alice.get_by_test_id("status")).to_have_text("online")
    expect(texts(alice)).to_have_text(["before 1", "before 2", *missed])
    assert server.members() == ["alice", "carol"]

    alice.reload()
    expect(alice.get_by_test_id("status")).to_have_text("online")
    speak(carol, "after reload")
    expect(texts(alice)).to_have_text(["before 1", "before 2", *missed, "after reload"])


def test_a_dropped_connection_reconnects_without_losing_or_repeating(pages, server):
    """The server cuts the page's connection; it reconnects by itself and misses nothing."""
    alice = pages.open("alice")
    carol = python_member(server, "carol")
    speak(carol, "one")
    expect(texts(alice)).to_have_text(["one"])
    total = server.connections_total
    assert server.drop("alice")
    speak(carol, "two")
    speak(carol, "three")
    wait_until(lambda: server.connections_total > total and "alice" in server.members())
    expect(alice.get_by_test_id("status")).to_have_text("online")
    expect(texts(alice)).to_have_text(["one", "two", "three"])
    say(alice, "back")
    assert next_of(carol, "message")["text"] == "back"
