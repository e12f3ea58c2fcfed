"""Text, DOCX, PDF and HTML files without front matter — generated here from real corpus excerpts — plus
broken files, which are reported per file while the batch goes on."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import docx
import pytest
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate

from knowledge_base.loaders import load_file, load_paths
from knowledge_base.loaders.frontmatter import split_front_matter
from knowledge_base.loaders.pdf_reader import join_pdf_lines
from knowledge_base.models import DocType
from taxbot.errors import (
    BrokenFile,
    EmptyDocument,
    LoaderError,
    NoTextLayer,
    UndecodableFile,
    UnsupportedFileType,
)


def corpus_body(corpus_dir: Path, relative: str) -> list[str]:
    """Body paragraphs of a corpus file (headings kept as plain lines, the title dropped)."""
    _, body = split_front_matter((corpus_dir / relative).read_text(encoding="utf-8"))
    return [
        line.lstrip("#").strip() for line in body.splitlines() if line.strip() and not line.startswith("# ")
    ]


ANNOUNCEMENT = "announcements/国家税务总局公告2026年第4号.md"
PIT_LAW = "national/中华人民共和国个人所得税法.md"
CIT_LAW = "national/中华人民共和国企业所得税法.md"
QINGDAO = "local/青岛市/青岛市税收征收协助条例.md"


def write_pdf(path: Path, paragraphs: list[str]) -> None:
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    style = ParagraphStyle("zh", fontName="STSong-Light", fontSize=11, leading=16, wordWrap="CJK")
    SimpleDocTemplate(str(path), pagesize=A4).build([Paragraph(p, style) for p in paragraphs])


def test_text_file_in_gb18030(tmp_path: Path, corpus_dir: Path) -> None:
    body = corpus_body(corpus_dir, ANNOUNCEMENT)
    lines = ["国家税务总局关于起征点标准等增值税征管事项的公告", "国家税务总局公告2026年第4号", *body]
    path = tmp_path / "announcement.txt"
    path.write_bytes("\n".join(lines).encode("gb18030"))
    doc, notes = load_file(path)
    assert doc.id == "sta-2026-4"  # the corpus id scheme, from the 文号
    assert doc.title == "国家税务总局关于起征点标准等增值税征管事项的公告"
    assert doc.doc_number == "国家税务总局公告2026年第4号"
    assert doc.issuer == "国家税务总局" and doc.region == "全国"
    assert doc.doc_type == DocType.NORMATIVE
    assert doc.effective == date(2026, 1, 1)  # "本公告自2026年1月1日起施行"
    assert "增值税" in doc.tax_types
    assert doc.articles[0].label == "第1段" and "起征点" in " ".join(a.text for a in doc.articles)
    assert all(a.text != doc.doc_number for a in doc.articles)
    assert not any(n.startswith(("文号", "issuer", "effective")) for n in notes)


def test_docx_law(tmp_path: Path, corpus_dir: Path) -> None:
    body = [p for p in corpus_body(corpus_dir, PIT_LAW) if not p[:4].isdigit()]
    document = docx.Document()
    document.add_heading("中华人民共和国个人所得税法", level=0)
    document.add_paragraph("中华人民共和国主席令第九号")
    for paragraph in body:
        document.add_paragraph(paragraph)
    path = tmp_path / "pit.docx"
    document.save(str(path))
    doc, notes = load_file(path)
    assert doc.title == "中华人民共和国个人所得税法"
    assert doc.doc_number == "主席令第九号" and doc.doc_type == DocType.LAW
    assert doc.issuer == "全国人民代表大会常务委员会"
    assert [a.label for a in doc.articles][:2] == ["第一条", "第二条"] and doc.articles[
        -1
    ].label == "第二十二条"
    assert doc.tax_types == ("个人所得税",)
    # 第二十二条 "本法自公布之日起施行" and no date line: said, not guessed
    assert doc.published is None and doc.effective is None
    assert "effective: 自公布之日起施行, but no publication date found" in notes
    assert any(n.startswith("published") for n in notes)


def test_pdf_law_with_chapters(tmp_path: Path, corpus_dir: Path) -> None:
    body = corpus_body(corpus_dir, CIT_LAW)
    start = body.index("第一章 总则")
    excerpt = body[start : start + 12]
    path = tmp_path / "cit.pdf"
    write_pdf(path, ["中华人民共和国企业所得税法", *excerpt])
    doc, _ = load_file(path)
    assert doc.title == "中华人民共和国企业所得税法" and doc.doc_type == DocType.LAW
    assert doc.articles[0].label == "第一条" and doc.articles[0].chapter == "第一章 总则"
    i = next(i for i, p in enumerate(excerpt) if p.startswith("第一条"))
    first_article = "".join(excerpt[i : i + 2])  # 第一条 has two paragraphs
    assert doc.articles[0].text.replace(" ", "").replace("\n", "") == first_article.replace(" ", "")
    assert doc.articles[0].text.count("\n") == 1  # PDF layout lines joined back into the two paragraphs
    assert doc.tax_types == ("企业所得税",)


def test_html_local_regulation_region_from_title(tmp_path: Path, corpus_dir: Path) -> None:
    body = corpus_body(corpus_dir, QINGDAO)
    paragraphs = "".join(f"<p>{p}</p>" for p in body)
    html = (
        "<html><head><meta charset='utf-8'><title>青岛市税收征收协助条例_青岛人大</title>"
        "<script>var x = '第一条 不是正文';</script></head><body><nav>首页 &gt; 法规</nav>"
        f"<h1>青岛市税收征收协助条例</h1><div class='content'>{paragraphs}</div></body></html>"
    )
    path = tmp_path / "qingdao.html"
    path.write_text(html, encoding="utf-8")
    doc, notes = load_file(path)
    assert doc.title == "青岛市税收征收协助条例"
    assert doc.region == "青岛市" and doc.doc_type == DocType.LOCAL_REGULATION
    assert doc.articles[0].label == "第一条" and "不是正文" not in " ".join(a.text for a in doc.articles)
    assert any(n.startswith("文号") for n in notes)


def test_region_option_wins(tmp_path: Path) -> None:
    path = tmp_path / "notice.txt"
    path.write_text(
        "关于办理退税的通知\n请纳税人于2026年6月30日前通过电子税务局办理退税申请，逾期不予受理。",
        encoding="utf-8",
    )
    doc, _ = load_file(path, region="深")
    assert doc.region == "深圳市"
    with pytest.raises(LoaderError, match="火星"):
        load_file(path, region="火星")


def test_undetermined_fields_are_noted_not_guessed(tmp_path: Path) -> None:
    path = tmp_path / "memo.md"
    path.write_text(
        "# 办税提醒\n\n请按时申报。办税服务厅工作时间为工作日上午九时至下午五时，节假日休息。\n",
        encoding="utf-8",
    )
    doc, notes = load_file(path)
    assert doc.doc_number == "" and doc.effective is None and doc.published is None
    fields = {note.split(":")[0] for note in notes}
    assert {"文号", "issuer", "published", "effective", "doc_type", "tax_types", "status"} <= fields


@pytest.mark.parametrize(
    ("name", "content", "error", "reason"),
    [
        ("bad-encoding.txt", b"\x80\xff" * 40, UndecodableFile, "gb18030"),
        ("empty.txt", b"   \n\n", EmptyDocument, "no text"),
        ("title-only.txt", "只有标题".encode(), EmptyDocument, "only a title"),
        ("broken.pdf", b"%PDF-1.4\nthis is not really a pdf", LoaderError, "PDF"),
        ("broken.docx", b"PK\x03\x04 not a zip", BrokenFile, "DOCX"),
        ("table.xlsx", b"anything", UnsupportedFileType, ".xlsx"),
        ("bad-front.md", "---\nid: [unclosed\n---\n正文".encode(), BrokenFile, "YAML"),
        ("no-id.md", "---\ntitle: 无编号\n---\n第一条 正文。".encode(), BrokenFile, "'id'"),
    ],
)
def test_broken_files_raise_loader_errors(
    tmp_path: Path, name: str, content: bytes, error: type, reason: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(error, match=reason) as info:
        load_file(path)
    assert name in str(info.value)


def test_pdf_without_text_layer(tmp_path: Path) -> None:
    path = tmp_path / "scan.pdf"
    pdf = canvas.Canvas(str(path), pagesize=A4)
    pdf.rect(100, 100, 300, 500, fill=1)  # a "scanned" page: graphics, no text
    pdf.showPage()
    pdf.save()
    with pytest.raises(NoTextLayer, match="OCR"):
        load_file(path)


def test_batch_reports_each_bad_file_and_goes_on(tmp_path: Path, corpus_dir: Path) -> None:
    folder = tmp_path / "inbox"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.md").write_bytes((corpus_dir / ANNOUNCEMENT).read_bytes())
    (folder / "sub" / "b.md").write_bytes((corpus_dir / PIT_LAW).read_bytes())
    (folder / "sub" / "dup.md").write_bytes((corpus_dir / PIT_LAW).read_bytes())
    (folder / "bad.txt").write_bytes(b"\x80\xff" * 10)
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 nonsense")
    (folder / "ignored.xlsx").write_bytes(b"not loaded")
    calls: list[tuple[int, int, str]] = []
    report = load_paths([folder, tmp_path / "missing.md"], progress=lambda d, t, p: calls.append((d, t, p)))
    assert sorted(d.id for d in report.documents) == ["law-pit-2018", "sta-2026-4"]
    reasons = {Path(p.path).name: p.reason for p in report.problems}
    assert set(reasons) == {"bad.txt", "broken.pdf", "dup.md", "missing.md"}
    assert "already loaded" in reasons["dup.md"] and "no such file" in reasons["missing.md"]
    assert [c[0] for c in calls] == [1, 2, 3, 4, 5] and {c[1] for c in calls} == {5}


def test_html_in_gbk_with_line_breaks(tmp_path: Path, corpus_dir: Path) -> None:
    body = corpus_body(corpus_dir, ANNOUNCEMENT)
    html = (
        "<html><head><meta charset='gbk'>"
        "<title>国家税务总局关于起征点标准等增值税征管事项的公告_国家税务总局</title>"
        "</head><body>"
        "<div class='doc'><p>国家税务总局公告2026年第4号</p><p>"
        + "<br>".join(body)
        + "</p></div></body></html>"
    )
    path = tmp_path / "sta.htm"
    path.write_bytes(html.encode("gb18030"))
    doc, _ = load_file(path)
    assert doc.id == "sta-2026-4" and doc.title == "国家税务总局关于起征点标准等增值税征管事项的公告"
    assert len(doc.articles) > 3  # <br> separated paragraphs were split, then chunked
    assert doc.effective == date(2026, 1, 1)


def test_pdf_lines_joined_and_page_numbers_dropped() -> None:
    lines = [
        "关于某事项的公告",
        "一、小规模纳税人发生应税交易，销售额未达到起征点标准的，可以选择全部或者部分",
        "应税交易放弃免税。",
        "- 1 -",
        "二、自然人出租不动产。",
        "第 2 页",
    ]
    assert join_pdf_lines(lines) == [
        "关于某事项的公告",
        "一、小规模纳税人发生应税交易，销售额未达到起征点标准的，可以选择全部或者部分应税交易放弃免税。",
        "二、自然人出租不动产。",
    ]


def test_region_from_issuer_beats_title(tmp_path: Path) -> None:
    national = tmp_path / "hainan.txt"
    national.write_text(
        "财政部 税务总局关于海南自由贸易港企业所得税优惠政策的通知\n财税〔2020〕31号\n"
        "对注册在海南自由贸易港并实质性运营的鼓励类产业企业，减按15%的税率征收企业所得税。\n"
        "本通知自2020年1月1日起执行。\n财政部 税务总局\n2020年6月23日",
        encoding="utf-8",
    )
    doc, notes = load_file(national)
    assert (doc.region, doc.doc_number, doc.id) == ("全国", "财税〔2020〕31号", "caishui-2020-31")
    assert doc.published == date(2020, 6, 23) and doc.effective == date(2020, 1, 1)
    assert "region: the title names 海南省 but the issuer is national; kept 全国" in notes
    local = tmp_path / "shenzhen.txt"
    local.write_text(
        "国家税务总局深圳市税务局关于发票领用有关事项的公告\n纳税人可以通过电子税务局申请领用发票，税务机关在一个工作日内办结。",
        encoding="utf-8",
    )
    doc, _ = load_file(local)
    assert doc.region == "深圳市" and doc.issuer == "国家税务总局深圳市税务局"
