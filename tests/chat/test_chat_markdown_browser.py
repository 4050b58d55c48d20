"""The chat's markdown subset (chat/static/panel/chat-markdown.js), in Chromium: a table of
inputs and the DOM they build (as the browser serialises it), then a conversation where both
sides write markdown and HTML: the markup shows, the HTML stays characters, no script runs."""

from __future__ import annotations

from playwright.async_api import expect
from test_chat_browser import T, agent_page, open_and_start, stage, visitor_page

R = 'target="_blank" rel="noopener noreferrer nofollow"'
CASES = [
    ("**bold** and *it* and _it_ `x < y`",
     ("<span class=\"md-lines\"><strong>bold</strong> and <em>it</em> and <em>it</em> "
      "<code>x &lt; y</code></span>")),
    ("[shop](https://shop.example/a?b=1&c=2) mail [me](mailto:a@b.example)",
     (f'<span class="md-lines"><a href="https://shop.example/a?b=1&amp;c=2" {R}>shop</a> mail '
      f'<a href="mailto:a@b.example" {R}>me</a></span>')),
    ("see https://x.example/p. ok",
     (f'<span class="md-lines">see <a href="https://x.example/p" {R}>https://x.example/p</a>'
      ". ok</span>")),
    ("[no](javascript:alert(1)) [no](data:text/html,x) [no](/relative)",
     ('<span class="md-lines">[no](javascript:alert(1)) [no](data:text/html,x) '
      "[no](/relative)</span>")),
    ("<img src=x onerror=alert(1)><script>alert(2)</script>",
     ('<span class="md-lines">&lt;img src=x onerror=alert(1)&gt;&lt;script&gt;alert(2)'
      "&lt;/script&gt;</span>")),
    ("[**x**](https://a.example/\"onmouseover=\"alert(1))",  # no attribute to break out of
     (f'<span class="md-lines">[<strong>x</strong>](<a href="https://a.example/" {R}>'
      'https://a.example/</a>"onmouseover="alert(1))</span>')),
    ("Items:\n- one\n- **two**\n\n3. c\n4. d",
     ('<span class="md-lines">Items:</span><ul><li>one</li><li><strong>two</strong></li></ul>'
      '<span class="md-lines"></span><ol start="3"><li>c</li><li>d</li></ol>')),
    ("line one\nline two", '<span class="md-lines">line one<br>line two</span>'),
    ("```\n<b>code</b>\n**not bold**\n```",
     "<pre><code>&lt;b&gt;code&lt;/b&gt;\n**not bold**</code></pre>"),
    ("snake_case_name and 2*3*4", '<span class="md-lines">snake_case_name and 2*3*4</span>'),
]


async def test_the_subset_as_dom_nodes(browser, tmp_path):
    async with stage(tmp_path) as st:
        alice = await agent_page(browser, st.floor, "alice", "a1")
        got = await alice.evaluate(
            "cases => cases.map(c => { const d = document.createElement('div');"
            " d.append(ccChatMarkdown.render(c)); return d.innerHTML; })",
            [c for c, _ in CASES])
        for (text, want), html in zip(CASES, got, strict=True):
            assert html == want, text
        # A long hostile line renders, every letter kept as text (a backtracking blow-up would
        # hang here until the test's timeout).
        text = await alice.evaluate(
            "() => { const d = document.createElement('div'); d.append(ccChatMarkdown.render("
            "'**a '.repeat(2500) + '_b '.repeat(2500) + '`'.repeat(3000))); return d.textContent; }")
        assert text.count("a") == 2500 and text.count("b") == 2500


async def test_markdown_both_ways_and_html_as_text(browser, tmp_path):
    async with stage(tmp_path) as st:
        alice = await agent_page(browser, st.floor, "alice", "a1")
        visitor = await visitor_page(browser, st.site + "/")
        await open_and_start(visitor, "Vera", "vera@example.com")
        await expect(visitor.locator("#cc-chat .input")).to_be_visible(timeout=T)
        (conv,) = [r for r, _ in await st.floor.chat.store.open_conversations()]
        card = alice.locator(f".chat-card[data-conversation='{conv.id}']")
        await card.locator(".chat-accept").click(timeout=T)
        await expect(card).to_have_attribute("data-state", "active", timeout=T)
        log = visitor.locator("#cc-chat .log")

        payload = ("**Order** *42* `A-1` [site](https://shop.example/o) "
                   "[x](javascript:window.pwned=1) <img src=x onerror=\"window.pwned=1\">\n"
                   "- first\n- second")
        await visitor.locator("#cc-chat .input").fill(payload)
        await visitor.locator("#cc-chat .send").click()
        line = card.locator(".chat-from-visitor")
        await expect(line.locator("strong")).to_have_text("Order", timeout=T)
        await expect(line.locator("em")).to_have_text("42")
        await expect(line.locator("code")).to_have_text("A-1")
        await expect(line.locator("li")).to_have_text(["first", "second"])
        link = line.locator("a")
        await expect(link).to_have_count(1)
        await expect(link).to_have_attribute("href", "https://shop.example/o")
        await expect(link).to_have_attribute("target", "_blank")
        await expect(link).to_have_attribute("rel", "noopener noreferrer nofollow")
        await expect(line).to_contain_text('<img src=x onerror="window.pwned=1">')
        await expect(line).to_contain_text("[x](javascript:window.pwned=1)")
        await expect(log.locator(".msg.visitor strong")).to_have_text("Order", timeout=T)

        await card.locator(".chat-input").fill("Thanks **Vera**, see _this_: "
                                               "<script>window.pwned=2</script>")
        await card.locator(".chat-send").click()
        reply = log.locator(".msg.agent")
        await expect(reply.locator("strong")).to_have_text("Vera", timeout=T)
        await expect(reply.locator("em")).to_have_text("this")
        await expect(reply).to_contain_text("<script>window.pwned=2</script>")
        await expect(card.locator(".chat-from-agent strong")).to_have_text("Vera")
        for page in (alice, visitor):
            assert await page.locator("img[src='x'], script:has-text('pwned')").count() == 0
            assert await page.evaluate("window.pwned") is None
        # The transcript keeps what was written, not markup.
        texts = [m.text for m in await st.floor.chat.transcript(conv.id)]
        assert payload in texts
        # No global on the site's page: the renderer lives inside the widget's function.
        assert await visitor.evaluate("typeof ccChatMarkdown") == "undefined"
