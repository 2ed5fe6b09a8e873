"""Accessibility of the monitoring centre's web UI, measured in a real browser.

- axe-core (pinned in package-lock.json, installed by `npm ci`) is injected
  into every page and must find no violation of a WCAG 2.0/2.1/2.2 level A
  or AA rule (colour contrast, labels, names of buttons and links, ARIA,
  target size...);
- an operator signs in, acknowledges and resolves an alert with the keyboard
  alone (Tab, Enter, Space, arrows, Escape), the focus visible at every stop;
  an administrator types and saves a zone; prison zones are chosen by key;
- on a tablet (768×1024 upright, 1024×768 on its side) no page scrolls
  sideways and the live map and the alert queue can both be reached."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from browser_harness import PARK_CENTRE, PASSWORD, ROOT, SERVICE_TOKEN, Server, sign_in, walk

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
TABLETS = [(768, 1024), (1024, 768)]


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.is_file():
        pytest.skip(f"axe-core is not installed ({AXE}): run scripts/setup (npm ci)")
    return AXE.read_text(encoding="utf-8")


# Just west of the park: a walk from here to its centre (650 m in 18 s) is
# plausible movement and soon deep inside, so the exclusion alert opens at once.
EDGE = (40.4155, -3.6935)
PERSONS = ("p-axe", "p-keys", "p-banner", "p-record")


@pytest.fixture(scope="module")
def alert_walk(server: Server) -> Callable[[str], int]:
    """walk_in(person): that person (one per test, so alerts do not mix), under
    an exclusion order on the park, walks into it; returns the alert's id."""
    since: dict[str, dt.datetime] = {}
    for person in PERSONS:
        dev = f"tag-{person}"
        server.call("POST", "/persons", json={"id": person, "role": "monitored", "name": person.title()})
        server.call(
            "POST",
            "/orders",
            json={
                "id": f"o-{person}",
                "person": person,
                "timezone": "Europe/Madrid",
                "rules": [{"id": f"r-{person}-park", "type": "exclusion", "zone": "z-park"}],
            },
        )
        server.call("POST", "/devices", json={"id": dev, "kind": "gps_tag", "comms_timeout_s": 3600})
        server.call("POST", f"/devices/{dev}/assign", json={"person": person})
        server.device_tokens[dev] = server.call("POST", f"/devices/{dev}/token")["token"]
        start = server.call("GET", f"/devices/{dev}/assignments")[0]["start"]
        since[person] = dt.datetime.fromisoformat(start) + dt.timedelta(seconds=1)

    def walk_in(person: str) -> int:
        t0 = max(now() - dt.timedelta(seconds=30), since[person])
        time.sleep(max(0.0, (t0 - now()).total_seconds() + 20))  # the ten fixes are in the past
        server.report(f"tag-{person}", walk(EDGE, PARK_CENTRE, 10, t0, 2, speed_mps=36))
        end = time.monotonic() + 30
        while time.monotonic() < end:
            found = server.call("GET", "/alerts", params={"person": person})
            if found:
                return int(found[0]["id"])
            time.sleep(0.3)
        raise AssertionError(f"no alert for {person}: " + "".join(server.output[-20:]))

    return walk_in


def facility(server: Server) -> None:
    """A small facility for the prison page (the prison tests' own), when it can be made."""
    try:
        from tests.unit.facility.builders import document
    except ImportError:
        return
    with server.client() as c:
        r = c.put("/prison/facilities/test", json=document())
    assert r.status_code < 300, r.text


def axe_violations(page: Any, axe_source: str, where: str) -> list[str]:
    """Run axe-core on the page as it is now: each violation's rule, and its targets."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(axe_source)  # through the debugger: the page's CSP does not apply
    result = page.evaluate(
        """async (tags) => {
            const r = await axe.run(document,
              { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] });
            return { rules: r.testEngine.version, passes: r.passes.map((p) => p.id),
                     violations: r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
                       nodes: v.nodes.map((n) => ({ target: n.target.join(" "),
                                                    summary: n.failureSummary })) })) };
        }""",
        WCAG_AA,
    )
    lines = []
    for v in result["violations"]:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']}")
        for n in v["nodes"][:8]:
            lines.append(f"    {n['target']}: {' '.join(n['summary'].split())[:300]}")
    if "color-contrast" not in result["passes"] + [v["id"] for v in result["violations"]]:
        lines.append("- color-contrast was not checked (no text found?)")
    return [f"axe-core {result['rules']} on {where}:", *lines] if lines else []


def settle(page: Any) -> None:
    """Let animations and the stream's first answers settle before measuring."""
    page.wait_for_timeout(600)


# --------------------------------------------------------------------- axe


def test_every_page_passes_axe_wcag_2_aa(
    page: Any, server: Server, shot: Any, axe_source: str, alert_walk: Callable[[str], int]
) -> None:
    problems: list[str] = []
    # Login page, and its error message shown.
    page.goto(server.api + "/")
    if server.users:
        page.wait_for_selector("form.login")
        problems += axe_violations(page, axe_source, "the login page")
        page.fill("#username", server.users["operator"])
        page.fill("#password", "not the password")
        page.click("button[type=submit]")
        page.wait_for_selector("form.login .error:not(:empty)")
        problems += axe_violations(page, axe_source, "the login page with its error")
        shot("login-error")

    # Live map and queue, with an open alert (its badges, timer, buttons) and its forms open.
    alert_id = alert_walk("p-axe")
    sign_in(page, server)
    page.wait_for_selector("#conn.live")
    page.wait_for_selector(f"li[data-alert-id='{alert_id}']")
    page.wait_for_selector("[data-person='p-axe'][data-state='violation']")
    settle(page)
    problems += axe_violations(page, axe_source, "the live map and queue")
    shot("live")
    page.click(f"[aria-label='Resolve alert {alert_id}']")
    page.wait_for_selector(f"#a{alert_id}-resolve")
    problems += axe_violations(page, axe_source, "the queue with the resolve form open")
    page.click(f"[aria-label='Assign alert {alert_id}']")
    problems += axe_violations(page, axe_source, "the queue with the assign form open")
    page.click("[data-person='p-axe']")  # the pin's popup
    page.wait_for_selector(".leaflet-popup-content a")
    problems += axe_violations(page, axe_source, "the live map with a person's popup open")
    shot("live-popup")
    page.select_option("#f-status", "resolved")
    settle(page)
    problems += axe_violations(page, axe_source, "the queue's resolved filter")

    # The devices list, and a new alert seen from there: the banner that leads to the queue.
    page.goto(server.api + "/#/devices")
    page.wait_for_selector("a[href='#/device/tag-p-axe']")
    problems += axe_violations(page, axe_source, "the devices list")
    alert_walk("p-banner")
    page.wait_for_selector("#banner:not([hidden]) a[href='#/live']")
    problems += axe_violations(page, axe_source, "the devices list with a new alert's banner")
    shot("devices")
    page.click("a[href='#/device/tag-p-axe']")
    page.wait_for_selector("#dev-person")
    problems += axe_violations(page, axe_source, "a device's page")
    shot("device")

    # The person page: first the purpose asked of an operator, then the page with a trail loaded.
    page.goto(server.api + "/#/persons")
    page.wait_for_selector("a[href='#/person/p-axe']")
    problems += axe_violations(page, axe_source, "the persons list")
    page.goto(server.api + "/#/person/p-walker")
    if server.users:
        page.wait_for_selector("#purpose")
        problems += axe_violations(page, axe_source, "the person page asking for a purpose")
        page.fill("#purpose", "accessibility check of the person page")
        page.click("#purpose-open")
    page.goto(server.api + f"/#/person/p-axe?alert={alert_id}")
    page.wait_for_selector("#pb-from")
    page.wait_for_selector(".timeline li.episode")
    page.click("text=Load trail")
    page.wait_for_selector("#pb-info:has-text('Fix 1 of')")
    settle(page)
    problems += axe_violations(page, axe_source, "the person page with a trail loaded")
    shot("person")

    # The zone editor, as an administrator, with a zone selected for editing.
    if server.users:
        page.evaluate("sessionStorage.clear()")
        sign_in(page, server, "admin")
    page.goto(server.api + "/#/zones")
    page.wait_for_selector(".zone-list button[data-zone='z-park']")
    problems += axe_violations(page, axe_source, "the zone editor")
    page.click(".zone-list button[data-zone='z-park']")
    page.wait_for_selector("#zone-delete:not([hidden])")
    problems += axe_violations(page, axe_source, "the zone editor with a zone selected")
    page.click(".typed summary")
    problems += axe_violations(page, axe_source, "the zone editor with the typed shape open")
    shot("zones")

    # Compliance figures (the session of this tab) as an administrator, who may
    # see them, with a person's history shown.
    page.goto(server.api + "/compliance")
    page.wait_for_selector("#from")
    page.click("#load")
    settle(page)
    page.fill("#person", "p-axe")
    page.click("#lookup")
    page.wait_for_selector("#person-out > *, #person-status:not(:empty)")
    settle(page)
    problems += axe_violations(page, axe_source, "the compliance page")
    shot("compliance")

    # The prison page, where this server has one.
    if httpx.get(server.api + "/prison", timeout=10).status_code == 200:
        facility(server)
        page.goto(server.api + "/prison")
        page.wait_for_selector("#facility")
        settle(page)
        problems += axe_violations(page, axe_source, "the prison page")
        shot("prison")
        page.click("nav button[data-view='counts']")
        page.click("#count-now")
        settle(page)
        problems += axe_violations(page, axe_source, "the prison page's headcounts")
        shot("prison-headcounts")
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------- keyboard


FOCUS = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  const s = getComputedStyle(e);
  // a shape in an SVG plan shows its focus by its stroke: unlike its unfocused siblings'
  const other = e instanceof SVGElement
    && [...e.parentNode.children].find((x) => x !== e && x.tagName === e.tagName);
  const o = other && getComputedStyle(other);
  const ring = (s.outlineStyle !== "none" && parseFloat(s.outlineWidth) >= 2) || s.boxShadow !== "none"
    || Boolean(o && (o.stroke !== s.stroke && parseFloat(s.strokeWidth) >= 2 * parseFloat(o.strokeWidth)));
  return { label: e.getAttribute("aria-label") || e.id || e.textContent.trim().slice(0, 40), tag: e.tagName,
           visible: e.matches(":focus-visible") && ring,
           onScreen: (() => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; })() };
}"""


def tab_to(
    page: Any, wanted: Callable[[dict[str, Any]], bool], what: str, limit: int = 120
) -> dict[str, Any]:
    """Press Tab until the focused element is the wanted one; every stop must show its focus."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        f = page.evaluate(FOCUS)
        if f is None:
            seen.append("(body)")
            continue
        seen.append(f["label"])
        assert f["visible"], f"no visible focus on {f} while tabbing to {what}"
        assert f["onScreen"], f"focus went to an invisible element {f} while tabbing to {what}"
        if wanted(f):
            return f
    raise AssertionError(f"{what} not reached with Tab; the stops were: {seen}")


def test_an_alert_is_acknowledged_and_resolved_with_the_keyboard_alone(
    page: Any, server: Server, shot: Any, alert_walk: Callable[[str], int]
) -> None:
    alert_id = alert_walk("p-keys")
    page.goto(server.api + "/" if server.users else server.api + f"/?token={SERVICE_TOKEN}")
    if server.users:
        page.wait_for_selector("form.login")
        # The skip link comes first; then the user name field.
        assert page.evaluate("document.activeElement.id") == "username"
        page.keyboard.type(server.users["operator"])
        page.keyboard.press("Tab")
        page.keyboard.type(PASSWORD)
        tab_to(page, lambda f: f["tag"] == "BUTTON" and f["label"] == "Sign in", "the sign-in button")
        shot("sign-in-focused")
        page.keyboard.press("Enter")
    page.wait_for_selector("header#top:not([hidden])")
    page.wait_for_selector(f"li[data-alert-id='{alert_id}']")
    page.wait_for_selector("#conn.live")
    if server.users:  # the sign-in button is gone: the focus is on the content, not lost
        assert page.evaluate("document.activeElement.id") == "main"

    # The page opened afresh: the first Tab stop is the skip link, which leads to the content.
    page.reload()
    page.wait_for_selector(f"li[data-alert-id='{alert_id}']")
    first = tab_to(page, lambda f: True, "the first stop")
    assert first["label"] == "Skip to content", first
    page.keyboard.press("Enter")  # the skip link moves the focus to the content
    assert page.evaluate("document.activeElement.id") == "main"
    assert (
        page.evaluate("location.hash") in ("", "#/live")
        and page.locator(f"li[data-alert-id='{alert_id}']").count()
    )
    # The walker's pin is a stop on the way, and Enter opens its popup.
    tab_to(
        page, lambda f: "p-keys" in (page.evaluate("document.activeElement.title") or ""), "the person's pin"
    )
    page.keyboard.press("Enter")
    page.wait_for_selector(".leaflet-popup-content:has-text('in violation')")
    shot("pin-popup")
    assert page.evaluate("document.activeElement.textContent") == "Open person page"  # focus in the popup
    page.keyboard.press("Escape")
    page.wait_for_selector(".leaflet-popup", state="detached")
    assert page.evaluate("document.activeElement.dataset.person") == "p-keys"  # back on the pin

    tab_to(page, lambda f: f["label"] == f"Acknowledge alert {alert_id}", "the acknowledge button")
    shot("acknowledge-focused")
    page.keyboard.press("Enter")
    page.wait_for_selector(f"li[data-alert-id='{alert_id}'][data-status='acknowledged']")
    # The acknowledge button is gone: the focus stays on the same alert, not lost to the page.
    page.wait_for_timeout(200)
    f = page.evaluate(FOCUS)
    assert f is not None and f["label"].endswith(f"alert {alert_id}") and f["visible"], f

    # A note form opened with Space is closed with Escape, the focus back on its button.
    tab_to(page, lambda f: f["label"] == f"Note alert {alert_id}", "the note button")
    page.keyboard.press("Space")
    page.wait_for_selector(f"#a{alert_id}-note:focus")
    page.keyboard.press("Escape")
    page.wait_for_selector(f"li[data-alert-id='{alert_id}'] form", state="detached")
    assert page.evaluate(FOCUS)["label"] == f"Note alert {alert_id}"

    # Resolve: the outcome chosen with the arrow keys, a note typed, submitted with Enter.
    tab_to(page, lambda f: f["label"] == f"Resolve alert {alert_id}", "the resolve button")
    page.keyboard.press("Enter")
    page.wait_for_selector(f"#a{alert_id}-resolve:focus")
    page.keyboard.press("ArrowDown")
    assert page.eval_on_selector(f"#a{alert_id}-resolve", "e => e.value") == "violation_confirmed"
    page.keyboard.press("Tab")
    page.keyboard.type("Resolved from the keyboard.")
    tab_to(page, lambda f: f["tag"] == "BUTTON" and f["label"] == "Resolve", "the form's resolve button")
    shot("resolving")
    page.keyboard.press("Enter")
    page.wait_for_selector(f"li[data-alert-id='{alert_id}']", state="detached")
    stored = server.call("GET", f"/alerts/{alert_id}")
    assert stored["status"] == "resolved" and stored["outcome"] == "violation_confirmed"
    assert [a["action"] for a in stored["actions"]][-2:] == ["acknowledge", "resolve"]
    assert page.evaluate(FOCUS) is not None, "the focus was lost to the page after resolving"
    shot("resolved")


def test_a_zone_is_typed_and_saved_with_the_keyboard_alone(page: Any, server: Server, shot: Any) -> None:
    # Drawing on the map needs a pointer: the editor takes the same shape typed.
    sign_in(page, server, "admin" if server.users else "operator")
    page.goto(server.api + "/#/zones")
    page.wait_for_selector(".zone-list button[data-zone='z-park']")
    tab_to(page, lambda f: f["tag"] == "SUMMARY", "the typed-shape disclosure")
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "zone-coords"
    page.keyboard.type("40.4000, -3.7000\n40.4000, -3.6980\n40.4015, -3.6980")
    tab_to(page, lambda f: f["label"] == "zone-coords-use", "the use-coordinates button")
    page.keyboard.press("Enter")
    page.wait_for_selector("#zone-msg:has-text('Shape drawn')")
    assert page.evaluate("document.activeElement.id") == "zone-name"
    page.keyboard.type("Typed triangle")
    page.keyboard.press("Tab")
    page.keyboard.type("z-typed")
    shot("typed-shape")
    tab_to(page, lambda f: f["label"] == "zone-save", "the save button")
    page.keyboard.press("Enter")
    page.wait_for_selector("#zone-msg:has-text('Zone z-typed saved')")
    shot("typed-shape-saved")
    zone = server.call("GET", "/zones/z-typed")
    ring = zone["geometry"]["coordinates"][0]
    assert zone["properties"]["name"] == "Typed triangle" and len(ring) == 4
    assert [-3.698, 40.4015] in [[round(x, 6) for x in p] for p in ring]

    # A line that is not a position is refused before anything is drawn, and the focus stays there.
    page.click("#zone-new")
    page.fill("#zone-coords", "40.40, -3.70\nnorth of the river")
    page.focus("#zone-coords-use")
    page.keyboard.press("Enter")
    page.wait_for_selector("#zone-msg.error:has-text('Not a')")
    assert page.evaluate("document.activeElement.id") == "zone-coords"


def test_prison_zones_are_chosen_with_the_keyboard(page: Any, server: Server, shot: Any) -> None:
    if httpx.get(server.api + "/prison", timeout=10).status_code != 200:
        pytest.skip("this server has no prison page")
    facility(server)
    sign_in(page, server, "admin" if server.users else "operator")
    page.goto(server.api + "/prison")
    page.wait_for_selector("#plan polygon")
    tab_to(page, lambda f: f["label"].startswith("Zone yard"), "the yard on the plan")
    shot("yard-focused")
    page.keyboard.press("Enter")
    page.wait_for_selector("#zone-title:has-text('Zone yard')")
    assert page.evaluate("document.activeElement.id") == "zone-title"
    tab_to(page, lambda f: f["label"] == "Headcounts", "the headcounts view", limit=60)
    page.keyboard.press("Space")
    page.wait_for_selector("#view-counts:not([hidden])")
    assert page.get_attribute("nav button[data-view='counts']", "aria-pressed") == "true"


# ------------------------------------------------------------------ tablet


NO_SIDEWAYS = (
    "document.documentElement.scrollWidth <= window.innerWidth"
    " && document.body.scrollWidth <= window.innerWidth"
)


def reachable(page: Any, selector: str, min_px: int = 50) -> bool:
    """The element can be scrolled into view and is then the topmost thing at its centre."""
    loc = page.locator(selector).first
    loc.scroll_into_view_if_needed()
    box = loc.bounding_box()
    if not box or box["width"] < min_px or box["height"] < min_px:
        return False
    vw, vh = page.evaluate("[window.innerWidth, window.innerHeight]")
    x, y = box["x"] + min(box["width"], vw) / 2, box["y"] + min(box["height"], vh - box["y"]) / 2
    if not (0 <= x < vw and 0 <= y < vh):
        return False
    return bool(
        page.evaluate(
            "([x, y, s]) => document.querySelector(s).contains(document.elementFromPoint(x, y))",
            [x, y, selector],
        )
    )


def test_pages_fit_a_tablet_upright_and_on_its_side(page: Any, server: Server, shot: Any) -> None:
    sign_in(page, server, "admin" if server.users else "operator")
    pages = [
        ("#/live", "#live-map.leaflet-container"),
        ("#/persons", "a[href='#/person/p-walker']"),
        ("#/person/p-walker", "#pb-from"),
        ("#/zones", ".zone-list button[data-zone='z-park']"),
        ("#/devices", "a[href='#/device/tag-walker']"),
        ("#/device/tag-walker", "#dev-person"),
    ]
    for width, height in TABLETS:
        page.set_viewport_size({"width": width, "height": height})
        for hash_, ready in pages:
            page.goto(server.api + "/" + hash_)
            page.wait_for_selector(ready)
            page.wait_for_timeout(300)
            assert page.evaluate(NO_SIDEWAYS), f"{hash_} scrolls sideways at {width}×{height}: " + str(
                page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            )
            if hash_ == "#/live":
                page.wait_for_selector(".queue p[role=status]:has-text('shown')")
                assert reachable(page, "#live-map"), f"the map cannot be reached at {width}×{height}"
                assert reachable(page, ".queue"), f"the queue cannot be reached at {width}×{height}"
                page.evaluate("window.scrollTo(0, 0)")
                shot(f"live-{width}x{height}")
            if hash_ == "#/zones":
                assert reachable(page, "#zone-map"), f"the zone map cannot be reached at {width}×{height}"
                assert reachable(page, "#zone-save", 10), (
                    f"the zone form cannot be reached at {width}×{height}"
                )
        for other, ready in (("/compliance", "#from"), ("/prison", "#facility")):
            if httpx.get(server.api + other, timeout=10).status_code != 200:
                continue
            page.goto(server.api + other)
            page.wait_for_selector(ready)
            page.wait_for_timeout(300)
            assert page.evaluate(NO_SIDEWAYS), f"{other} scrolls sideways at {width}×{height}"
            shot(f"{other.strip('/')}-{width}x{height}")


def test_the_protocol_checklist_is_ticked_off_and_the_alert_escalated_from_the_queue(
    page: Any, server: Server, shot: Any, alert_walk: Callable[[str], int]
) -> None:
    alert_id = alert_walk("p-record")
    sign_in(page, server, "operator")
    card = page.locator(f"li[data-alert-id='{alert_id}']")
    card.wait_for()
    card.get_by_role("button", name=f"Checklist and messages of alert {alert_id}").click()
    panel = card.locator("section.record")
    panel.wait_for()
    # the exclusion protocol: call the wearer, dispatch, notify the officer
    steps = panel.locator("form.step")
    assert steps.count() == 3
    first = steps.nth(0)
    assert first.locator("[data-step-state]").inner_text() == "not done yet"
    first.locator("select").select_option("no_answer")
    first.get_by_role("button", name="Record").click()
    page.wait_for_selector(f"li[data-alert-id='{alert_id}'] form.step [data-step-state='no_answer']")
    shot("step-recorded")
    record = server.call("GET", f"/alerts/{alert_id}/record")
    step = record["protocol"][0]
    assert step["outcome"] == "no_answer" and step["by"] == server.users.get("operator", "service")
    # the next link of the chain takes it now
    panel.get_by_role("button", name=f"Escalate alert {alert_id}").click()
    end = time.monotonic() + 10
    while server.call("GET", f"/alerts/{alert_id}")["status"] != "escalated":
        assert time.monotonic() < end, "the alert was not escalated"
        time.sleep(0.2)
    shot("escalated")
    assert any(a["action"] == "escalate" for a in server.call("GET", f"/alerts/{alert_id}/record")["actions"])
