"""The notebook view of a page (``Page._repr_html_``): compact, and every text escaped."""

from __future__ import annotations

from pagegen import Engine, Page, PageRow, Slot


def test_repr_html_is_compact_and_escaped(tiny_world, tiny_model) -> None:
    engine = Engine(tiny_world.catalog, tiny_model, interactions=tiny_world.interactions, now=tiny_world.now)
    tricky = Slot(id="x", title='<script>alert("t")</script> & Co', score=0.5, reason='"quoted" <b>reason</b>')
    row = PageRow(kind="genre", key="g:<i>", title="<img src=x onerror=alert(1)>", slots=[tricky.model_copy(update={"id": f"x{i}"}) for i in range(12)])
    page = Page(user="<u>", policy="default", selector="stage_wise", device="web", now=1_700_000_000, seed=0, rows=[row])
    view = page._repr_html_()
    assert "<script>" not in view and "<img" not in view and "<b>reason" not in view and "<u>" not in view
    assert "&lt;script&gt;alert(&quot;t&quot;)&lt;/script&gt; &amp; Co" in view
    assert 'title="&quot;quoted&quot; &lt;b&gt;reason&lt;/b&gt;"' in view
    assert "&lt;img src=x onerror=alert(1)&gt;" in view and "&lt;u&gt;" in view
    assert view.count("&lt;script&gt;") == 8 and "+4 more" in view  # the first 8 titles of a row, the rest counted
    built = engine.build(tiny_world.interactions.users.id(0))
    shown = built._repr_html_()
    assert shown.count("<tr>") == len(built.rows) + 1
    assert all(row.title.replace("&", "&amp;") in shown for row in built.rows if "<" not in row.title and '"' not in row.title)
