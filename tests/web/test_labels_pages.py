"""The labels pages: choose bins, preview, PDF/ZPL downloads, print view, per-bin files."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pypdf
import pytest
import zxingcpp
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from pyzbar import pyzbar

from kanban.barcodes.labels import PRESETS

from ..barcodes.test_labels import rasterise

ROOT = Path(__file__).resolve().parents[2]


class Element:
    def __init__(self, tag: str, attrs: dict[str, str | None]) -> None:
        self.tag, self.attrs, self.text = tag, attrs, ""


class Page(HTMLParser):
    """Every element of an HTML page with its attributes and its own text."""

    VOID = {"img", "input", "br", "meta", "link", "hr"}

    def __init__(self, html: str) -> None:
        super().__init__()
        self.elements: list[Element] = []
        self._open: list[Element] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        el = Element(tag, dict(attrs))
        self.elements.append(el)
        if tag not in self.VOID:
            self._open.append(el)

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            if self._open.pop().tag == tag:
                break

    def handle_data(self, data: str) -> None:
        for el in self._open:
            el.text += data

    def find(self, tag: str | None = None, **attrs: str | None) -> list[Element]:
        """Elements of ``tag`` whose attributes include ``attrs`` (``...=None``: present)."""

        def match(el: Element) -> bool:
            for key, value in attrs.items():
                key = key.rstrip("_").replace("_", "-")
                if key not in el.attrs or (value is not None and el.attrs[key] != value):
                    return False
            return tag is None or el.tag == tag

        return [el for el in self.elements if match(el)]

    def one(self, tag: str | None = None, **attrs: str | None) -> Element:
        found = self.find(tag, **attrs)
        assert len(found) == 1, f"{len(found)} <{tag} {attrs}> elements"
        return found[0]


def login(client: FlaskClient, name: str) -> None:
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    resp = client.post(
        "/login", data={"username": name, "password": f"password-{name}", "csrf_token": token}
    )
    assert resp.status_code == 302


@pytest.fixture
def site(make_bin: Callable[..., str]) -> None:
    make_bin("A-01", zone="Aisle A", supplier="Acme", on_hand=9, card=5)
    make_bin("A/02", zone="Aisle A", supplier="Bolt & Co", on_hand=1, card=5)
    make_bin("B-01", zone="Aisle B", supplier="Acme", on_hand=9, card=5)


@pytest.fixture
def boss(client: FlaskClient, make_user: Callable[..., str], site: None) -> FlaskClient:
    """A client logged in as a supervisor, on a site with three bins."""
    login(client, make_user("sue", "supervisor"))
    return client


def decode(png: bytes) -> tuple[list[str], list[str]]:
    img = Image.open(io.BytesIO(png)).convert("L")
    return (
        [r.data.decode() for r in pyzbar.decode(img)],
        [r.text for r in zxingcpp.read_barcodes(img)],
    )


PAGES = [
    "/labels",
    "/labels/summary.json",
    "/labels/preview.png?code=A-01",
    "/labels/labels.pdf",
    "/labels/labels.zpl?dpi=300",
    "/labels/print",
    "/bins/A-01/label.png",
    "/bins/A-01/label.svg",
]


def test_labels_need_a_supervisor(
    client: FlaskClient, make_user: Callable[..., str], make_token: Callable[[str], str], site: None
) -> None:
    display = {"Authorization": f"Bearer {make_token('display')}"}
    for path in PAGES:
        assert client.get(path).status_code == 302, path  # to the login page
        assert client.get(path, headers=display).status_code == 403, path
    login(client, make_user("ana", "operator"))
    for path in PAGES:
        assert client.get(path).status_code == 403, path


def test_page_shows_the_count_a_preview_and_download_links(boss: FlaskClient) -> None:
    resp = boss.get("/labels?zone=Aisle+A&copies=2")
    assert resp.status_code == 200
    page = Page(resp.get_data(as_text=True))
    assert page.one(data_summary=None).text == "4 labels, 1 page"
    zones = [o.text for o in page.find("option") if o.text.startswith("Aisle")]
    assert zones == ["Aisle A", "Aisle B"]
    states = [o.text.strip() for o in page.find("option") if o.attrs.get("value") == "replenish"]
    assert states == ["⬇ Replenish"]  # a word and an icon, not colour alone
    img = page.one("img", data_preview=None)
    assert page.one(data_first_code=None).text == "A-01"
    preview = boss.get(img.attrs["src"] or "")
    assert preview.status_code == 200 and preview.mimetype == "image/png"
    assert decode(preview.data) == (["A-01"], ["A-01"])
    links = {a.attrs["data-link"]: a.attrs["href"] or "" for a in page.find("a", data_link=None)}
    assert set(links) == {"pdf", "print", "zpl203", "zpl300"}
    for href in links.values():
        q = parse_qs(urlsplit(href).query)
        assert q["zone"] == ["Aisle A"] and q["copies"] == ["2"]
    assert [li.text.split()[0] for li in page.find("li")] == ["A-01", "A/02"]


def test_summary_json_is_what_the_page_shows(boss: FlaskClient) -> None:
    data = boss.get("/labels/summary.json?state=replenish&preset=letter-3x10").get_json()
    assert (data["summary"], data["bins"], data["first"]["code"]) == ("1 label, 1 page", 1, "A/02")
    assert [b["code"] for b in data["list"]] == ["A/02"]
    assert boss.get(data["first"]["preview_url"]).status_code == 200


def test_preview_png_decodes_to_the_bin_code_on_every_preset(boss: FlaskClient) -> None:
    for preset in PRESETS:
        resp = boss.get(f"/labels/preview.png?code=a/02&preset={preset}")
        assert resp.status_code == 200, resp.data
        assert decode(resp.data) == (["A/02"], ["A/02"])
        img = Image.open(io.BytesIO(resp.data))
        assert round(img.info["dpi"][0]) == PRESETS[preset].dpi


def test_pdf_download_has_the_right_pages_and_decodes(boss: FlaskClient) -> None:
    resp = boss.get("/labels/labels.pdf?supplier=Acme&copies=12&start=3")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    disposition = resp.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert re.search(r"filename=labels-a4-3x8-\d{8}-\d{6}\.pdf", disposition)
    assert len(pypdf.PdfReader(io.BytesIO(resp.data)).pages) == 2  # 2 + 24 labels, 24 a sheet
    first = rasterise(resp.data, 300)[0]
    p = PRESETS["a4-3x8"]
    x, y = p.label_origin_mm(3)  # the first label sits at the start position
    box = tuple(round(v * 300 / 25.4) for v in (x, y, x + p.label_width_mm, y + p.label_height_mm))
    cell = first.crop(box)  # type: ignore[arg-type]
    assert [r.data.decode() for r in pyzbar.decode(cell)] == ["A-01"]
    assert [r.text for r in zxingcpp.read_barcodes(cell)] == ["A-01"]


@pytest.mark.parametrize(("dpi", "width"), [(203, 812), (300, 1200)])
def test_zpl_download_has_a_native_code128_per_bin(boss: FlaskClient, dpi: int, width: int) -> None:
    resp = boss.get(f"/labels/labels.zpl?zone=Aisle+A&dpi={dpi}")
    assert resp.status_code == 200
    assert re.search(
        rf"filename=labels-thermal-4x6-{dpi}dpi-\d{{8}}-\d{{6}}\.zpl",
        resp.headers["Content-Disposition"],
    )
    text = resp.get_data(as_text=True)
    assert re.findall(r"\^BCN,[^\^]*\^FD([^\^]*)\^FS", text) == ["A-01", "A/02"]
    assert text.count(f"^PW{width}") == 2


def test_print_view_has_one_cell_per_label_on_pages_of_the_preset(boss: FlaskClient) -> None:
    resp = boss.get("/labels/print?zone=Aisle+A&copies=3&start=22")
    assert resp.status_code == 200
    page = Page(resp.get_data(as_text=True))
    assert page.one("div", class_="sheets preset-a4-3x8") is not None
    sheets = page.find("section", class_="sheet")
    assert len(sheets) == 2  # positions 22–24 on the first sheet, 3 more on the second
    cells = page.find("div", data_bin=None)
    assert [c.attrs["data-bin"] for c in cells] == ["A-01"] * 3 + ["A/02"] * 3
    assert len(page.find("div", class_="label-cell blank")) == 21
    imgs = page.find("img")
    assert len(imgs) == 6
    assert decode(boss.get(imgs[-1].attrs["src"] or "").data) == (["A/02"], ["A/02"])
    css = [el.attrs["href"] for el in page.find("link", rel="stylesheet")]
    assert "/static/css/print.css" in css
    assert page.one("button", data_print=None).text.strip() == "Print"
    assert page.one("script", type="module").attrs["src"] == "/static/js/labels.js"


def test_per_bin_png_and_svg_are_that_bins_label(boss: FlaskClient) -> None:
    png = boss.get("/bins/A/02/label.png?preset=thermal-2x1")
    assert png.status_code == 200 and png.mimetype == "image/png"
    assert png.headers["Content-Disposition"] == "inline; filename=A%2F02.png"
    assert decode(png.data) == (["A/02"], ["A/02"])
    svg = boss.get("/bins/b-01/label.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    root = ET.fromstring(svg.data)  # noqa: S314 (our own output)
    bars = root.find("{http://www.w3.org/2000/svg}g[@id='barcode']")
    assert bars is not None and bars.get("data-code") == "B-01"
    assert boss.get("/bins/NOPE-1/label.png").status_code == 404


BAD = [
    "preset=a5-2x4",
    "preset=" + "x" * 500,
    "copies=0",
    "copies=101",
    "copies=two",
    "copies=%C2%B2",
    "start=25",
    "start=-1",
    "zone=Nowhere",
    "supplier=Nobody",
    "state=lost",
    "bins=A-01,%3Cscript%3E",
    "bins=A-01,NOPE-9",
    "bins=" + "A" * 4000,
    "zone=Aisle%00A",
    "supplier=%FF%FE",
    "bins=A-01%00",
]


def test_bad_input_is_a_400_never_a_500(boss: FlaskClient) -> None:
    for query in BAD:
        check_refused(boss, query)


def check_refused(boss: FlaskClient, query: str) -> None:
    page = boss.get(f"/labels?{query}")
    assert page.status_code == 400
    error = Page(page.get_data(as_text=True)).one(data_error=None)
    assert error.text.strip() and "<script>" not in page.get_data(as_text=True).lower()
    for path in ("/labels/labels.pdf", "/labels/labels.zpl", "/labels/summary.json"):
        if path.endswith(".zpl") and query.startswith("start="):
            continue  # a roll has no start position: ZPL ignores it
        resp = boss.get(f"{path}?{query}")
        assert resp.status_code == 400, (path, resp.data[:200])
        assert resp.get_json()["error"]["message"]
    assert boss.get(f"/labels/print?{query}").status_code == 400


BAD_FILES = [
    "/labels/preview.png?code=A-01&preset=nope",
    "/labels/preview.png",
    "/labels/labels.zpl?dpi=600",
    "/labels/labels.zpl?dpi=abc",
    "/bins/A-01/label.png?dpi=5000",
    "/bins/A-01/label.svg?preset=a5",
    "/labels/preview.png?code=" + "A" * 300,
    "/labels/preview.png?code=A-01%00",
    "/bins/A%00/label.svg",
]


def test_bad_file_requests_are_400_json(boss: FlaskClient) -> None:
    for path in BAD_FILES:
        resp = boss.get(path)
        assert resp.status_code == 400, path
        assert resp.get_json()["error"]["code"].startswith(("invalid_", "missing_")), path


def test_a_selection_matching_nothing_says_so(boss: FlaskClient) -> None:
    resp = boss.get("/labels?zone=Aisle+B&state=replenish")
    assert resp.status_code == 200
    page = Page(resp.get_data(as_text=True))
    assert "No bins match" in page.one(data_error=None).text
    assert "hidden" in page.one("section", data_result=None).attrs
    assert boss.get("/labels/labels.pdf?zone=Aisle+B&state=replenish").status_code == 400


def test_large_selections_point_to_the_pdf_instead_of_the_print_view(
    boss: FlaskClient, make_bin: Callable[..., str]
) -> None:
    small = boss.get("/labels/summary.json?copies=100&bins=A-01,A/02,B-01,a-01").get_json()
    assert small["summary"] == "300 labels, 13 pages" and "print" in small["urls"]
    for i in range(8):
        make_bin(f"C-{i}", zone="Aisle C")
    big = boss.get("/labels/summary.json?copies=100").get_json()
    assert big["summary"] == "1100 labels, 46 pages"
    assert set(big["urls"]) == {"pdf", "zpl203", "zpl300"} and "PDF" in big["notice"]
    assert boss.get("/labels/print?copies=100").status_code == 400
    assert boss.get("/labels/labels.pdf?copies=100").status_code == 200


def test_print_css_matches_every_preset() -> None:
    """The print view's sizes come from static CSS: it must agree with PRESETS."""
    css = (ROOT / "static" / "css" / "print.css").read_text()

    def mm(value: str) -> float:
        if value == "0":
            return 0.0
        number, unit = re.fullmatch(r"([0-9.]+)(mm|in)", value).groups()  # type: ignore[union-attr]
        return float(number) * (25.4 if unit == "in" else 1)

    for p in PRESETS.values():
        size = re.search(rf"@page {p.name} {{ size: (\S+) (\S+); margin: 0; }}", css)
        assert size, f"no @page rule for {p.name}"
        assert mm(size[1]) == pytest.approx(p.page_width_mm)
        assert mm(size[2]) == pytest.approx(p.page_height_mm)
        sheet = re.search(rf"\.preset-{p.name} \.sheet {{([^}}]*)}}", css)
        assert sheet, f"no sheet rule for {p.name}"
        rules = dict(re.findall(r"([\w-]+): ([^;]+);", sheet[1]))
        assert rules["page"] == p.name
        assert mm(rules["width"]) == pytest.approx(p.page_width_mm)
        pad = [mm(v) for v in rules["padding"].split()]
        assert (pad[0], pad[-1]) == (
            pytest.approx(p.margin_top_mm),
            pytest.approx(p.margin_left_mm),
        )
        columns = re.fullmatch(r"repeat\((\d+), (\S+)\)|(\S+)", rules["grid-template-columns"])
        assert columns
        n, width = (int(columns[1]), columns[2]) if columns[1] else (1, columns[3])
        assert n == p.columns and mm(width) == pytest.approx(p.label_width_mm)
        assert mm(rules["grid-auto-rows"]) == pytest.approx(p.label_height_mm)
        gap = mm(rules["column-gap"]) if "column-gap" in rules else 0.0
        assert gap == pytest.approx(p.gap_x_mm) and p.gap_y_mm == 0
        cell = re.search(rf"\.preset-{p.name} \.label-cell {{ width: (\S+); height: (\S+); }}", css)
        assert cell and mm(cell[1]) == pytest.approx(p.label_width_mm)
        assert mm(cell[2]) == pytest.approx(p.label_height_mm)


def test_labels_page_has_no_inline_script_or_style(boss: FlaskClient, app: Flask) -> None:
    for path in ("/labels", "/labels/print"):
        page = Page(boss.get(path).get_data(as_text=True))
        # Only files run; the vocabulary block is JSON data.
        for el in page.find("script"):
            assert el.attrs.get("src") or el.attrs.get("type") == "application/json"
        assert not [el for el in page.elements if "style" in el.attrs]
        assert not [el for el in page.elements if any(k.startswith("on") for k in el.attrs)]
