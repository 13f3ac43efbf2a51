"""The documentation holds together: every relative link resolves, the README stays a short front door.

Checked offline on the Markdown files themselves: each relative link or image of README.md, Docs/*.md and the
READMEs under Testing/ names a file or folder of this repository and, with ``#anchor``, a heading of that page
(anchors as GitHub makes them from the heading's text). Links to other sites are not fetched. The README stays
within 250 lines, keeps the two commands newcomers and CI run, and links every page of Docs/; each page of Docs/
opens with its title and one line saying what it covers.
"""

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
README = REPO / "README.md"
DOCS = REPO / "Docs"
README_MAX_LINES = 250
COMMANDS = ("python3 Testing/run.py demo", "python3 Testing/run.py test")  # .ci/run calls the second
FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.MULTILINE | re.DOTALL)
COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
CODE_SPAN = re.compile(r"(`+)(?!`).*?(?<!`)\1(?!`)", re.DOTALL)
LINK = re.compile(r"!?\[(?P<text>[^\]]*)\]\((?P<target>[^)\s]+)(?:\s+\"[^\"]*\")?\)")
HEADING = re.compile(r"^(#{1,6})[ \t]+(?P<text>.+?)[ \t]*#*[ \t]*$", re.MULTILINE)


def documentation_pages() -> list[Path]:
    # The web viewer harness's npm packages (Testing/Harness/web_viewer/node_modules) bring READMEs of their own.
    return [README, *sorted(DOCS.glob("*.md")), *sorted(path for path in (REPO / "Testing").rglob("README.md") if "node_modules" not in path.parts)]


def prose(text: str) -> str:
    """The text outside fenced code blocks and HTML comments (where a '# ' line is code, not a heading)."""
    return COMMENT.sub("", FENCE.sub("", text))


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: its rendered text lower-cased, punctuation dropped, each space a hyphen."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link renders as its text
    text = text.replace("`", "").replace("*", "")
    text = re.sub(r"[^\w\- ]", "", text.lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    found, seen = set(), {}
    for match in HEADING.finditer(prose(page.read_text(encoding="utf-8"))):
        anchor = github_anchor(match["text"])
        count = seen.get(anchor, 0)
        seen[anchor] = count + 1
        found.add(anchor if count == 0 else f"{anchor}-{count}")
    return found


def relative_links(page: Path) -> list[str]:
    text = CODE_SPAN.sub("", prose(page.read_text(encoding="utf-8")))
    return [match["target"] for match in LINK.finditer(text) if not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", match["target"])]


def broken_links(page: Path, repo: Path = REPO) -> list[str]:
    broken = []
    for target in relative_links(page):
        path_part, _, anchor = target.partition("#")
        destination = (page.parent / path_part).resolve() if path_part else page
        if repo not in destination.parents and destination != repo:
            broken.append(f"{target}: outside the repository")
        elif not destination.exists():
            broken.append(f"{target}: no such file")
        elif anchor and (destination.suffix != ".md" or anchor not in anchors(destination)):
            broken.append(f"{target}: no heading #{anchor} in {destination.relative_to(repo).as_posix()}")
    return broken


@pytest.mark.parametrize("page", documentation_pages(), ids=lambda page: page.relative_to(REPO).as_posix())
def test_every_relative_link_resolves(page):
    assert broken_links(page) == []


def test_the_checker_sees_a_broken_link_and_a_broken_anchor(tmp_path):
    (tmp_path / "Docs").mkdir()
    (tmp_path / "Docs" / "a.md").write_text("# A `page`: one — two\n\n## Same\n\n## Same\n\n```sh\n# not a heading\n```\n")
    page = tmp_path / "README.md"
    page.write_text(
        "[ok](Docs/a.md#a-page-one--two) [ok](Docs/a.md#same-1) [ok](#b) [web](https://example.org/x#y) `[code](nowhere.md)`\n"
        "[gone](Docs/b.md) [bad anchor](Docs/a.md#not-a-heading) [bad anchor](Docs/a.md#same-2)\n\n## B\n",
    )
    assert broken_links(page, repo=tmp_path) == [
        "Docs/b.md: no such file",
        "Docs/a.md#not-a-heading: no heading #not-a-heading in Docs/a.md",
        "Docs/a.md#same-2: no heading #same-2 in Docs/a.md",
    ]


def test_readme_is_a_short_front_door():
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= README_MAX_LINES, f"README.md has {len(text.splitlines())} lines; move detail to Docs/"
    for command in COMMANDS:
        assert re.search(rf"^{re.escape(command)}(\s|$)", text, re.MULTILINE), f"the README lost the command {command!r}"
    linked = {(REPO / target.partition("#")[0]).resolve() for target in relative_links(README)}
    assert [page.name for page in sorted(DOCS.glob("*.md")) if page.resolve() not in linked] == [], "a page of Docs/ the README does not link"


@pytest.mark.parametrize("page", sorted(DOCS.glob("*.md")), ids=lambda page: page.name)
def test_each_docs_page_says_what_it_covers(page):
    lines = page.read_text(encoding="utf-8").splitlines()
    assert len(lines) >= 4 and lines[0].startswith("# ") and lines[1] == "", "a page opens with its title"
    assert lines[2].strip() and not lines[2].startswith(("#", "-", "|", "`")) and lines[3] == "", "then one line saying what it covers"
