"""The review UI's HTTP API with starlette's TestClient over a real indexed store (real LanceDB, ffmpeg, video)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import subprocess
import time
from pathlib import Path

import imageio_ffmpeg
import pytest
from starlette.testclient import TestClient

from conftest import vsearch_cli
from vsearch.evidence.audit import AuditLog
from vsearch.web.app import create_app
from web_support import CASE, CONFIG, INVESTIGATOR, REASON, build_store, cli_json

QUERY = "personne en haut rouge"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_store(tmp_path_factory.mktemp("web"))


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.timezone.utc)

    def __call__(self) -> dt.datetime:
        return self.now


def make_client(env: dict[str, Path], clock: Clock | None = None) -> TestClient:
    app = create_app(env["store"], env["config"], exports_dir=env["store"].parent / "exports",
                     **({"clock": clock} if clock else {}))
    return TestClient(app, base_url="http://127.0.0.1")


def login(client: TestClient, investigator: str = INVESTIGATOR, case: str = CASE, reason: str = REASON):
    page = client.get("/")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    return client.post("/login", data={"investigator": investigator, "case": case, "reason": reason,
                                       "csrf": token}, follow_redirects=False)


def csrf_of(client: TestClient) -> str:
    return re.search(r'<meta name="csrf" content="([^"]+)"', client.get("/search").text).group(1)


def audit_entries(env: dict[str, Path]) -> list[dict]:
    return [json.loads(line) for line in (env["store"] / "audit.jsonl").read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def client(env: dict[str, Path]) -> TestClient:
    c = make_client(env)
    assert login(c).status_code == 303
    return c


def test_without_session_everything_is_refused(env: dict[str, Path]) -> None:
    c = make_client(env)
    r = c.get("/api/search", params={"q": QUERY})
    assert r.status_code == 401 and "login" in r.json()["error"]
    for url in ("/api/tubes/x", "/api/tubes/x/clip", "/api/tubes/x/thumbnail", "/api/similar?tube=x",
                "/api/frame?camera=cam1&at=2026-11-20T13:01:02Z"):
        assert c.get(url).status_code == 401, url
    assert c.post("/api/export", json={}).status_code == 401
    assert c.get("/search?q=x", follow_redirects=False).headers["location"] == "/"
    page = c.get("/")
    assert page.status_code == 200 and 'action="/login"' in page.text


def test_login_refused_for_unknown_or_expired_investigator_and_logged(env: dict[str, Path]) -> None:
    c = make_client(env)
    for who in ("nobody", "opj-expired"):
        r = login(c, investigator=who)
        assert r.status_code == 403 and "refused" in r.text
        assert "vsearch_session" not in r.cookies
    assert c.get("/api/search", params={"q": QUERY}).status_code == 401
    refused = [e for e in audit_entries(env) if e["action"] == "refused" and e["investigator"] == "opj-expired"]
    assert refused and refused[-1]["case"] == CASE and refused[-1]["params"]["requested_action"] == "login"


def test_login_without_case_or_reason_is_refused(env: dict[str, Path]) -> None:
    c = make_client(env)
    assert login(c, case=" ").status_code == 403
    assert login(c, reason="").status_code == 403


def test_login_without_form_token_is_refused(env: dict[str, Path]) -> None:
    c = make_client(env)
    r = c.post("/login", data={"investigator": INVESTIGATOR, "case": CASE, "reason": REASON})
    assert r.status_code == 403 and "vsearch_session" not in r.cookies


def test_session_cookie_is_httponly_strict_and_expires(env: dict[str, Path]) -> None:
    clock = Clock()
    c = make_client(env, clock)
    r = login(c)
    assert r.status_code == 303
    cookie = r.headers["set-cookie"]
    assert "vsearch_session=" in cookie and "HttpOnly" in cookie and "samesite=strict" in cookie.lower()
    assert re.search(r"Max-Age=\d+", cookie)
    assert c.get("/api/tubes/f").status_code != 401  # logged in (404: no such tube)
    clock.now += dt.timedelta(hours=9)  # past the default 8-hour lifetime
    assert c.get("/api/search", params={"q": QUERY}).status_code == 401


def test_changing_case_is_logout_then_a_new_login(env: dict[str, Path]) -> None:
    c = make_client(env)
    login(c, case="PV-A")
    first = c.cookies["vsearch_session"]
    assert c.get("/", follow_redirects=False).headers["location"] == "/search"  # no second login over a session
    r = c.post("/logout", data={"csrf": csrf_of(c)}, follow_redirects=False)
    assert r.status_code == 303
    login(c, case="PV-B")
    second = c.cookies["vsearch_session"]
    assert second != first
    stale = make_client(env)
    stale.cookies.set("vsearch_session", first)
    assert stale.get("/api/search", params={"q": QUERY}).status_code == 401  # the case-A session is closed
    assert c.get("/api/search", params={"q": QUERY}).status_code == 200
    assert audit_entries(env)[-1]["action"] == "search" and audit_entries(env)[-1]["case"] == "PV-B"


def test_search_api_gives_the_cli_hits_in_the_cli_order(env: dict[str, Path], client: TestClient) -> None:
    cli = cli_json(env, "search", QUERY)
    r = client.get("/api/search", params={"q": QUERY})
    assert r.status_code == 200, r.text
    web = r.json()
    assert [h["tube_id"] for h in cli["hits"]] == [h["tube_id"] for h in web["hits"]]
    red_top = ["red" in h["upper_colours"] for h in web["hits"]]  # descriptive words rank (never filter):
    assert red_top and red_top[0] and red_top == sorted(red_top, reverse=True)  # the red tops come first
    assert web["hits"] == cli["hits"] and web["coverage"] == cli["coverage"]
    assert set(web) == set(cli)


def test_search_api_filters_like_the_cli_options(env: dict[str, Path], client: TestClient) -> None:
    cli = cli_json(env, "search", "--class", "car", "--camera", "cam1", "--limit", "5")
    web = client.get("/api/search", params={"class": "car", "camera": "cam1", "limit": "5"}).json()
    assert [h["tube_id"] for h in web["hits"]] == [h["tube_id"] for h in cli["hits"]]
    assert web["hits"] and all(h["class_name"] == "car" for h in web["hits"])


@pytest.mark.parametrize("params, needle", [({"q": "x", "limit": "0"}, "limit"), ({"camera": "nope"}, "nope"),
                                            ({"like": "/etc/passwd"}, "tube:ID"), ({"from": "25:99"}, "25:99")])
def test_bad_search_input_is_one_clear_400(client: TestClient, params: dict, needle: str) -> None:
    r = client.get("/api/search", params=params)
    assert r.status_code == 400 and needle in r.json()["error"]


def test_tube_json_is_the_show_json_and_thumbnail_is_jpeg(env: dict[str, Path], client: TestClient) -> None:
    tube_id = client.get("/api/search", params={"q": QUERY}).json()["hits"][0]["tube_id"]
    r = vsearch_cli("show", f"tube:{tube_id}", "--store", str(env["store"]), "--config", str(env["config"]),
                    "--investigator", INVESTIGATOR, "--case", CASE, "--reason", REASON, "--json")
    assert r.returncode == 0, r.stderr
    assert client.get(f"/api/tubes/{tube_id}").json() == json.loads(r.stdout)
    thumb = client.get(f"/api/tubes/{tube_id}/thumbnail")
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    assert thumb.content[:3] == b"\xff\xd8\xff"
    assert client.get("/api/tubes/nope-00001").status_code == 404


def test_clip_is_playable_h264_and_answers_range_with_206(env: dict[str, Path], client: TestClient,
                                                          tmp_path: Path) -> None:
    hit = client.get("/api/search", params={"q": QUERY}).json()["hits"][0]
    r = client.get(f"/api/tubes/{hit['tube_id']}/clip", headers={"Range": "bytes=0-99"})
    assert r.status_code == 206, r.text
    assert len(r.content) == 100 and r.headers["content-range"].startswith("bytes 0-99/")
    total = int(r.headers["content-range"].split("/")[1])
    full = client.get(f"/api/tubes/{hit['tube_id']}/clip")
    assert full.status_code == 200 and len(full.content) == total and full.content[:100] == r.content
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(full.content)
    dec = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(clip), "-f", "null", "-"],
                         capture_output=True, text=True)
    assert dec.returncode == 0 and dec.stderr.strip() == "", dec.stderr
    import av

    with av.open(str(clip)) as c:
        v = c.streams.video[0]
        assert v.codec_context.name == "h264" and v.codec_context.pix_fmt == "yuv420p"
        n = sum(1 for _ in c.decode(v))
    # the tube's span plus 1 s either side, at the source's 10 fps (the first second of the file is the floor)
    assert abs(n - round((hit["last_pts_s"] - hit["first_pts_s"] + 2.0) * 10)) <= 2
    assert (env["store"] / "web-cache" / "clips" / f"{hit['tube_id']}.mp4").is_file()  # cached in the store


def test_login_search_clip_and_view_are_audited_with_investigator_and_case(env: dict[str, Path]) -> None:
    c = make_client(env)
    login(c)
    tube_id = c.get("/api/search", params={"q": QUERY}).json()["hits"][0]["tube_id"]
    c.get(f"/api/tubes/{tube_id}")
    c.get(f"/api/tubes/{tube_id}/clip", headers={"Range": "bytes=0-99"})
    c.get(f"/api/tubes/{tube_id}/clip", headers={"Range": "bytes=100-199"})  # same play: logged once
    entries = audit_entries(env)
    mine = entries[[i for i, e in enumerate(entries) if e["action"] == "login"][-1]:]
    assert [e["action"] for e in mine] == ["login", "search", "view_tube", "play_clip"]
    for e in mine:
        assert e["investigator"] == INVESTIGATOR and e["case"] == CASE and e["reason"] == REASON
        assert e["params"]["via"] == "web"
    assert mine[1]["params"]["text"] == QUERY and tube_id in mine[1]["result"]["tube_ids"]
    assert mine[3]["params"]["tube_id"] == tube_id
    clip = env["store"] / "web-cache" / "clips" / f"{tube_id}.mp4"
    assert mine[3]["outputs"] == {str(clip): hashlib.sha256(clip.read_bytes()).hexdigest()}
    assert AuditLog(env["store"] / "audit.jsonl").verify().ok


def test_other_host_names_are_refused_and_pages_cannot_be_framed(client: TestClient) -> None:
    assert client.get("/api/search", params={"q": QUERY}, headers={"Host": "evil.example:8765"}).status_code == 400
    r = client.get("/search")
    assert r.headers["x-frame-options"] == "DENY" and "default-src 'self'" in r.headers["content-security-policy"]


def test_posts_need_the_csrf_token(client: TestClient) -> None:
    r = client.post("/api/synopsis", json={"tube_ids": ["x"]})
    assert r.status_code == 403 and "CSRF" in r.json()["error"]
    r = client.post("/api/synopsis", json={"tube_ids": ["x"]}, headers={"X-CSRF-Token": "wrong"})
    assert r.status_code == 403
    assert client.post("/basket", data={"tube_id": "x", "action": "confirm"}).status_code == 403


def test_similar_is_the_cli_similar(env: dict[str, Path], client: TestClient) -> None:
    tube_id = client.get("/api/search", params={"q": QUERY}).json()["hits"][0]["tube_id"]
    cli = cli_json(env, "similar", "--tube", f"tube:{tube_id}")
    web = client.get("/api/similar", params={"tube": tube_id}).json()
    assert [h["tube_id"] for h in web["hits"]] == [h["tube_id"] for h in cli["hits"]] and web["hits"]


def test_frame_is_a_jpeg_still_of_the_camera(client: TestClient) -> None:
    r = client.get("/api/frame", params={"camera": "cam1", "at": "2026-11-20T13:01:03Z"})
    assert r.status_code == 200 and r.content[:3] == b"\xff\xd8\xff"
    import cv2
    import numpy as np

    img = cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_COLOR)
    assert img.shape[:2] == (360, 640)
    r = client.get("/api/frame", params={"camera": "cam1", "at": "2026-11-20T15:00:00Z"})
    assert r.status_code == 400 and "no footage of cam1" in r.json()["error"]


def test_synopsis_and_export_of_confirmed_tubes(env: dict[str, Path], client: TestClient) -> None:
    token = csrf_of(client)
    hits = client.get("/api/search", params={"q": QUERY}).json()["hits"]
    ids = [h["tube_id"] for h in hits]
    syn = client.post("/api/synopsis", json={"tube_ids": ids}, headers={"X-CSRF-Token": token})
    assert syn.status_code == 200, syn.text
    body = syn.json()
    assert body["parts"][0]["metrics"]["objects"] == len(ids) and body["parts"][0]["entries"] == len(ids)
    m = client.get(f"/api/synopsis/{body['synopsis_id']}/0/map").json()
    assert sorted(e["tube_id"] for e in m["tubes"]) == sorted(ids)
    video = client.get(f"/api/synopsis/{body['synopsis_id']}/0/video", headers={"Range": "bytes=0-9"})
    assert video.status_code == 206

    job = client.post("/api/export", json={"query": f"q={QUERY}", "tube_ids": ids[:1]},
                      headers={"X-CSRF-Token": token})
    assert job.status_code == 202, job.text
    for _ in range(600):
        state = client.get(f"/api/export/{job.json()['job']}").json()
        if state["state"] != "running":
            break
        time.sleep(0.5)
    assert state["state"] == "done", state
    assert state["result"]["objects"] == 1
    v = vsearch_cli("verify", state["result"]["bundle"], "--store", str(env["store"]))  # trusted: this site's key
    assert v.returncode == 0, v.stdout + v.stderr
    manifest = json.loads((Path(state["result"]["bundle"]) / "manifest.json").read_text())
    assert [o["object_id"] for o in manifest["objects"]] == ids[:1]
    assert client.get(f"/api/export/{job.json()['job']}/zip").content[:2] == b"PK"
    actions = [e["action"] for e in audit_entries(env)]
    assert "synopsis" in actions and "export" in actions


def test_search_page_is_server_rendered_from_the_same_hits(client: TestClient) -> None:
    ids = [h["tube_id"] for h in client.get("/api/search", params={"q": QUERY}).json()["hits"]]
    page = client.get("/search", params={"q": QUERY}).text
    assert re.findall(r'data-tube="([^"]+)"', page) == ids
    assert "fichier(s) fouillé(s)" in page and page.count('class="tl-mark"') == len(ids)
    assert "Searched 1 file(s)" in client.get("/search", params={"q": QUERY, "lang": "en"}).text
    assert "fichier(s) fouillé(s)" in client.get("/search", params={"q": QUERY, "lang": "fr"}).text  # and back


def test_unknown_tube_or_synopsis_is_404_with_a_clear_message(client: TestClient) -> None:
    r = client.get("/tube/f937-00099")
    assert r.status_code == 404 and "no such tube" in r.text
    r = client.get("/api/synopsis/20260101T000000Z-abcd/0/map")
    assert r.status_code == 404 and "make it again" in r.json()["error"]
    assert client.get("/api/synopsis/..%2f..%2fetc/0/map").status_code in (400, 404)


def test_every_ui_text_has_french_and_english_and_no_key_hides_a_dict_method() -> None:
    from vsearch.web import i18n

    assert all(fr.strip() and en.strip() for fr, en in i18n.TEXT.values())
    assert not set(i18n.TEXT) & set(dir(dict))  # Jinja's t.clear would be dict.clear, not the text


def test_serve_refuses_a_non_loopback_host_without_the_flag(env: dict[str, Path]) -> None:
    r = vsearch_cli("serve", "--store", str(env["store"]), "--config", str(env["config"]), "--host", "0.0.0.0")
    assert r.returncode == 2
    assert "--allow-remote" in r.stderr and "Traceback" not in r.stderr


def test_real_footage_search_matches_the_cli_and_its_clip_plays(tmp_path: Path, sample_clip: Path) -> None:
    """The sample clip (PETS 2009, msmpeg4v3 in AVI, which no browser plays): the UI's search is the CLI's, and
    the tube's clip comes out as H.264 that decodes cleanly and answers Range requests."""
    footage = tmp_path / "footage"
    footage.mkdir()
    clip = footage / "vtest-12s.avi"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-i", str(sample_clip), "-t", "12",
                    "-c", "copy", str(clip)], check=True)
    clip.with_name(clip.name + ".json").write_text(sample_clip.with_name("vtest.avi.json").read_text())
    env = {"store": tmp_path / "store", "config": tmp_path / "vsearch.toml"}
    r = vsearch_cli("index", str(footage), "--store", str(env["store"]), "--detector", "motion", "-q")
    assert r.returncode == 0, r.stderr
    env["config"].write_text(CONFIG)
    cli = cli_json(env, "search", "personne")
    c = make_client(env)
    login(c)
    web = c.get("/api/search", params={"q": "personne"}).json()
    assert [h["tube_id"] for h in web["hits"]] == [h["tube_id"] for h in cli["hits"]] and web["hits"]
    tube_id = web["hits"][0]["tube_id"]
    part = c.get(f"/api/tubes/{tube_id}/clip", headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and len(part.content) == 100
    out = tmp_path / "clip.mp4"
    out.write_bytes(c.get(f"/api/tubes/{tube_id}/clip").content)
    dec = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(out), "-f", "null", "-"],
                         capture_output=True, text=True)
    assert dec.returncode == 0 and dec.stderr.strip() == "", dec.stderr
    import av

    with av.open(str(out)) as container:
        assert container.streams.video[0].codec_context.name == "h264"
